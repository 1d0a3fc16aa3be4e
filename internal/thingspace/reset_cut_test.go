package thingspace_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/thingspace"
)

// cutServer answers every request with a 200 that promises more bytes than
// it sends: it writes body up to cut bytes and closes the connection, as a
// connection lost mid-answer does.
func cutServer(t *testing.T, contentType, body string, cut int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/ts/v1/oauth2/token" {
			w.Header().Set("Content-Type", "application/json")
			if _, err := io.WriteString(w, `{"access_token":"tok","token_type":"Bearer","expires_in":3600}`); err != nil {
				t.Error(err)
			}
			return
		}
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		writeCut(t, buf, contentType, body, cut)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func writeCut(t *testing.T, buf *bufio.ReadWriter, contentType, body string, cut int) {
	if _, err := fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s", contentType, len(body)+64, body[:cut]); err != nil {
		t.Error(err)
	}
	if err := buf.Flush(); err != nil {
		t.Error(err)
	}
}

// Issue 21, path 3: a 200 answer to a reset whose connection is cut
// mid-body keeps a new password that arrived whole (it exists nowhere
// else; the rotation verifies it with a login before trusting it), and
// never takes one cut short.
func TestResetAnswerCutMidBodyKeepsAWholePassword(t *testing.T) {
	const pw = "N3w-Passw0rd!Whole"
	restBody := `{"newPassword":"` + pw + `","extra":"` + strings.Repeat("x", 200) + `"}`
	soapBody := `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetNewPasswordResponse><Output>` +
		`<NewPassword>` + pw + `</NewPassword><Note>` + strings.Repeat("x", 200) + `</Note></Output></GetNewPasswordResponse></s:Body></s:Envelope>`
	for _, tc := range []struct {
		proto, ctype, body string
	}{{"rest", "application/json", restBody}, {"soap", "text/xml; charset=utf-8", soapBody}} {
		whole := strings.Index(tc.body, pw) + len(pw) + len("</NewPassword>")
		if tc.proto == "rest" {
			whole = strings.Index(tc.body, pw) + len(pw) + 2
		}
		for name, cut := range map[string]int{"after the password": whole, "inside the password": strings.Index(tc.body, pw) + 4} {
			t.Run(tc.proto+"/"+name, func(t *testing.T) {
				srv := cutServer(t, tc.ctype, tc.body, cut)
				res := cutBackend(t, tc.proto, srv.URL).ResetPassword(t.Context(), "session", "Old-Passw0rd!x")
				switch name {
				case "after the password":
					if res.Outcome != thingspace.ResetApplied || res.NewPassword.Reveal() != pw {
						t.Fatalf("outcome %v (%v): the whole password was thrown away", res.Outcome, res.Err)
					}
				default:
					if res.Outcome != thingspace.ResetUnknown || res.NewPassword != "" {
						t.Fatalf("outcome %v with %d password bytes: want unknown and none", res.Outcome, len(res.NewPassword.Reveal()))
					}
				}
			})
		}
	}
}

func cutBackend(t *testing.T, proto, base string) thingspace.Backend {
	t.Helper()
	hc := thingspace.NewHTTPClient(0)
	if proto == "soap" {
		b, err := thingspace.NewSOAP(thingspace.SOAPConfig{Endpoint: base + "/api/v2/SessionService.svc", HTTPClient: hc})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b, err := thingspace.NewREST(thingspace.RESTConfig{BaseURL: base, AppKey: "k", AppSecret: "s", HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
