package thingspace_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/uwsportal/uwsportal/internal/thingspace"
)

// A server fault that reads like an expiry may hide an applied reset: the
// client must not log in again and reset a second time.
func TestClientNeverRepeatsResetAfterServerFault(t *testing.T) {
	for name, fault := range map[string]string{
		"server expired":  `<faultcode>s:Server</faultcode><faultstring>The session has expired.</faultstring>`,
		"server password": `<faultcode>s:Server</faultcode><faultstring>The old password is incorrect.</faultstring>`,
	} {
		t.Run(name, func(t *testing.T) {
			var logins, resets atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, err := io.ReadAll(r.Body)
				if err != nil {
					t.Error(err)
					return
				}
				w.Header().Set("Content-Type", "text/xml; charset=utf-8")
				const env = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>`
				if strings.Contains(string(body), "LogIn>") {
					logins.Add(1)
					reply(t, w, env+`<LogInResponse><Output><SessionToken>tok</SessionToken></Output></LogInResponse></s:Body></s:Envelope>`)
					return
				}
				resets.Add(1)
				w.WriteHeader(http.StatusInternalServerError)
				reply(t, w, env+`<s:Fault>`+fault+`</s:Fault></s:Body></s:Envelope>`)
			}))
			defer srv.Close()
			b, err := thingspace.NewSOAP(thingspace.SOAPConfig{Endpoint: srv.URL + "/api/v2/SessionService.svc"})
			if err != nil {
				t.Fatal(err)
			}
			c, _ := newClient(t, b, 2)
			res := c.Reset(t.Context(), cred(testPassword))
			if res.Outcome != thingspace.ResetUnknown {
				t.Fatalf("outcome %v (%v), want unknown", res.Outcome, res.Err)
			}
			if resets.Load() != 1 || logins.Load() != 1 {
				t.Fatalf("%d resets and %d logins, want 1 and 1", resets.Load(), logins.Load())
			}
		})
	}
}
