package thingspace_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/thingspace"
)

// h2GoAwayServer speaks just enough HTTP/2 to read whole requests. It
// answers token requests, and goes away after reading any other request:
// it sends GOAWAY claiming it processed no stream (as a proxy restarting
// after forwarding does) and closes the connection. Go's HTTP/2 transport
// resends such a request on a new connection whenever it can rewind the
// body, which for a login would spend a second lockout attempt.
func h2GoAwayServer(t *testing.T) (url string, hc *http.Client, requests *atomic.Int32) {
	t.Helper()
	requests = new(atomic.Int32)
	srv := httptest.NewUnstartedServer(nil)
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the client's closed connections are expected
	srv.Config.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){
		"h2": func(_ *http.Server, c *tls.Conn, _ http.Handler) { serveGoAway(c, requests) },
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	hc = thingspace.NewHTTPClient(5 * time.Second)
	hc.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: pool}
	return srv.URL, hc, requests
}

const (
	h2Data, h2Headers, h2Settings, h2GoAway = 0x0, 0x1, 0x4, 0x7
	h2EndStream, h2Ack, h2EndHeaders        = 0x1, 0x1, 0x4
)

func writeH2Frame(w io.Writer, typ, flags byte, stream uint32, payload []byte) {
	hdr := []byte{byte(len(payload) >> 16), byte(len(payload) >> 8), byte(len(payload)), typ, flags, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(hdr[5:], stream)
	_, _ = w.Write(append(hdr, payload...)) // a failed write ends the test's exchange, which is checked by counts
}

func serveGoAway(c net.Conn, requests *atomic.Int32) {
	defer c.Close()
	if _, err := io.ReadFull(c, make([]byte, len(http2Preface))); err != nil {
		return
	}
	writeH2Frame(c, h2Settings, 0, 0, nil)
	bodies := map[uint32][]byte{}
	for {
		hdr := make([]byte, 9)
		if _, err := io.ReadFull(c, hdr); err != nil {
			return
		}
		payload := make([]byte, int(hdr[0])<<16|int(hdr[1])<<8|int(hdr[2]))
		if _, err := io.ReadFull(c, payload); err != nil {
			return
		}
		typ, flags, stream := hdr[3], hdr[4], binary.BigEndian.Uint32(hdr[5:])&0x7fffffff
		switch {
		case typ == h2Settings && flags&h2Ack == 0:
			writeH2Frame(c, h2Settings, h2Ack, 0, nil)
			continue
		case typ == h2Data:
			bodies[stream] = append(bodies[stream], payload...)
		case typ != h2Headers:
			continue
		}
		if flags&h2EndStream == 0 {
			continue
		}
		if bytes.Contains(bodies[stream], []byte("grant_type")) {
			writeH2Frame(c, h2Headers, h2EndHeaders, stream, []byte{0x88}) // :status 200
			writeH2Frame(c, h2Data, h2EndStream, stream, []byte(`{"access_token":"t","token_type":"Bearer","expires_in":3600}`))
			continue
		}
		requests.Add(1)
		writeH2Frame(c, h2GoAway, 0, 0, make([]byte, 8)) // last stream 0, NO_ERROR
		return
	}
}

const http2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// Login and reset are sent at most once, whatever the connection does.
func TestNoTransportReplayOfLoginOrReset(t *testing.T) {
	ops := map[string]func(ctx context.Context, url string, hc *http.Client) error{
		"rest login": func(ctx context.Context, url string, hc *http.Client) error {
			b, err := thingspace.NewREST(thingspace.RESTConfig{BaseURL: url, AppKey: "k", AppSecret: "s", HTTPClient: hc})
			if err != nil {
				return err
			}
			_, err = b.Login(ctx, testUser, testPassword)
			return err
		},
		"rest reset": func(ctx context.Context, url string, hc *http.Client) error {
			b, err := thingspace.NewREST(thingspace.RESTConfig{BaseURL: url, AppKey: "k", AppSecret: "s", HTTPClient: hc})
			if err != nil {
				return err
			}
			if res := b.ResetPassword(ctx, "session", testPassword); res.Outcome != thingspace.ResetUnknown {
				t.Errorf("reset outcome %v, want unknown", res.Outcome)
			}
			return nil
		},
		"soap login": func(ctx context.Context, url string, hc *http.Client) error {
			b, err := thingspace.NewSOAP(thingspace.SOAPConfig{Endpoint: url + "/api/v2/SessionService.svc", HTTPClient: hc})
			if err != nil {
				return err
			}
			_, err = b.Login(ctx, testUser, testPassword)
			return err
		},
		"soap reset": func(ctx context.Context, url string, hc *http.Client) error {
			b, err := thingspace.NewSOAP(thingspace.SOAPConfig{Endpoint: url + "/api/v2/SessionService.svc", HTTPClient: hc})
			if err != nil {
				return err
			}
			if res := b.ResetPassword(ctx, "session", testPassword); res.Outcome != thingspace.ResetUnknown {
				t.Errorf("reset outcome %v, want unknown", res.Outcome)
			}
			return nil
		},
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			url, hc, requests := h2GoAwayServer(t)
			ctx, cancel := context.WithTimeout(t.Context(), 2500*time.Millisecond)
			defer cancel()
			err := op(ctx, url, hc)
			if n := requests.Load(); n != 1 {
				t.Fatalf("the server read %d requests (err %v), want exactly 1", n, err)
			}
			if name == "rest login" || name == "soap login" {
				if err == nil || !thingspace.MayCountUpstream(err) {
					t.Fatalf("err %v: a login read by the server must count as a possible failure", err)
				}
			}
		})
	}
}
