package channel_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/notify/channel"
	"github.com/uwsportal/uwsportal/internal/notify/channel/channeltest"
	"github.com/uwsportal/uwsportal/models"
)

// secretPath is a Slack-like URL path holding its credential, as the tests
// request it; no error may contain it.
const secretPath = "/services/T0001/B0002/tok3nSECRETpath"

// echoServer answers status with a body that repeats the request URL, as
// careless 404 pages do.
func echoServer(t *testing.T, status int, extra http.Header) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		for k, v := range extra {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, "no route for %s (%s) %s", r.URL.Path, r.RequestURI, strings.Repeat("x", 5000))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func assertNoSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for e := err; e != nil; e = errors.Unwrap(e) {
		for _, s := range secrets {
			if strings.Contains(e.Error(), s) {
				t.Errorf("error (or one it wraps) contains %q: %v", s, e)
			}
		}
	}
}

func TestHTTPStatusClassification(t *testing.T) {
	for _, tc := range []struct {
		status    int
		permanent bool
	}{
		{http.StatusBadRequest, true},
		{http.StatusUnauthorized, true},
		{http.StatusNotFound, true},
		{http.StatusGone, true},
		{http.StatusRequestTimeout, false},
		{http.StatusTooManyRequests, false},
		{http.StatusInternalServerError, false},
		{http.StatusBadGateway, false},
		{http.StatusServiceUnavailable, false},
		{http.StatusFound, true},
		{http.StatusPermanentRedirect, true},
	} {
		for _, kind := range []models.ChannelKind{models.ChannelWebhook, models.ChannelSlack, models.ChannelTeams} {
			srv, hits := echoServer(t, tc.status, http.Header{"Location": {"/elsewhere"}, "Retry-After": {"30"}})
			url := srv.URL + secretPath + "?sig=qsecretvalue"
			d := channel.Destination{Kind: kind, URL: url, Secret: []byte("whsec-abcdef")}
			err := (&channel.Sender{Guard: channeltest.Loopback}).Send(context.Background(), d, sampleNotification())
			if err == nil {
				t.Fatalf("%s %d: Send = nil", kind, tc.status)
			}
			if channel.IsPermanent(err) != tc.permanent {
				t.Errorf("%s %d: IsPermanent = %v, want %v (%v)", kind, tc.status, channel.IsPermanent(err), tc.permanent, err)
			}
			if hits.Load() != 1 {
				t.Errorf("%s %d: %d requests, want 1 (no redirect followed)", kind, tc.status, hits.Load())
			}
			msg := err.Error()
			// The answer's body is never shown: a channel must not read a service.
			if !strings.Contains(msg, fmt.Sprint(tc.status)) || strings.Contains(msg, "no route for") || len(msg) > 400 {
				t.Errorf("%s %d: error should name the status and not quote the body: %q", kind, tc.status, msg)
			}
			assertNoSecret(t, err, secretPath, "tok3nSECRETpath", "qsecretvalue", "whsec-abcdef", url)
			if tc.status == http.StatusTooManyRequests {
				if d, ok := channel.RetryAfter(err); !ok || d != 30*time.Second {
					t.Errorf("RetryAfter(429 with Retry-After: 30) = %v, %v", d, ok)
				}
			}
		}
	}
}

func TestHTTPNetworkErrorsAreRetryableAndSecretFree(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil { // only then does the server notice the client leaving
			t.Error(err)
		}
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	n := sampleNotification()
	short := &channel.Sender{Guard: channeltest.Loopback, Timeout: 100 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	for _, tc := range []struct {
		name string
		s    *channel.Sender
		ctx  context.Context
		url  string
		is   error // the error wraps it, so the outbox can tell a timeout
	}{
		{"client timeout", short, context.Background(), slow.URL, context.DeadlineExceeded},
		{"context deadline", &channel.Sender{Guard: channeltest.Loopback}, ctx, slow.URL, context.DeadlineExceeded},
		{"connection refused", &channel.Sender{Guard: channeltest.Loopback}, context.Background(), closedURL, syscall.ECONNREFUSED},
	} {
		url := tc.url + secretPath
		start := time.Now()
		err := tc.s.Send(tc.ctx, channel.Destination{Kind: models.ChannelSlack, URL: url}, n)
		if err == nil || channel.IsPermanent(err) {
			t.Errorf("%s: Send = %v, want a retryable error", tc.name, err)
			continue
		}
		if time.Since(start) > 3*time.Second {
			t.Errorf("%s: took %s", tc.name, time.Since(start))
		}
		if !strings.Contains(err.Error(), "slack POST to http://127.0.0.1:") {
			t.Errorf("%s: error should name the host: %v", tc.name, err)
		}
		assertNoSecret(t, err, secretPath, url)
		if !errors.Is(err, tc.is) {
			t.Errorf("%s: error does not wrap %v: %v", tc.name, tc.is, err)
		}
	}
}

func TestInvalidDestinationIsPermanent(t *testing.T) {
	s := &channel.Sender{Guard: channeltest.Loopback}
	for _, d := range []channel.Destination{
		{Kind: models.ChannelSlack, URL: "http://hooks.example.com" + secretPath},
		{Kind: models.ChannelTeams, URL: "https://user:tok3nSECRETpath@example.com/x"},
		{Kind: models.ChannelEmail, Address: "Ops <ops@example.com>"},
		{Kind: "pager", URL: "https://example.com"},
	} {
		err := s.Send(context.Background(), d, sampleNotification())
		if err == nil || !channel.IsPermanent(err) || !errors.Is(err, models.ErrInvalid) {
			t.Errorf("Send to %v = %v, want a permanent ErrInvalid", d, err)
		}
		assertNoSecret(t, err, "tok3nSECRETpath")
	}
}

func TestPermanent(t *testing.T) {
	base := errors.New("refused")
	if channel.Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
	p := channel.Permanent(base)
	if !channel.IsPermanent(p) || !errors.Is(p, base) || p.Error() != "refused" {
		t.Errorf("Permanent(base) = %v, permanent %v", p, channel.IsPermanent(p))
	}
	if !channel.IsPermanent(fmt.Errorf("deliver: %w", p)) {
		t.Error("a wrapped permanent error is not permanent")
	}
	if channel.IsPermanent(base) || channel.IsPermanent(nil) {
		t.Error("an unmarked error is permanent")
	}
}
