package thingspace_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/uwsportal/uwsportal/internal/thingspace"
)

// answerServer answers the token request and then every M2M request with a
// 200 carrying body.
func answerServer(t *testing.T, contentType, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/ts/v1/oauth2/token" {
			reply(t, w, `{"access_token":"t","token_type":"Bearer","expires_in":3600}`)
			return
		}
		w.Header().Set("Content-Type", contentType)
		reply(t, w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// A new password in a 200 is kept whatever else is wrong with the answer:
// it exists nowhere else.
func TestRESTResetKeepsPasswordOfMalformed200(t *testing.T) {
	const pw = "N3w!Generated-Pw"
	tests := []struct {
		name, body string
		want       thingspace.ResetOutcome
	}{
		{"trailing garbage", `{"newPassword":"` + pw + `"}garbage<html>`, thingspace.ResetApplied},
		{"two objects", `{"newPassword":"` + pw + `"}` + "\n" + `{"newPassword":"other"}`, thingspace.ResetApplied},
		{"odd fields", `{"requestId":12,"newPassword":"` + pw + `","meta":{"a":[1,null,{"b":true}]},"x":1e999}`, thingspace.ResetApplied},
		{"cut after the password", `{"newPassword":"` + pw + `","expiresAt":"2026-0`, thingspace.ResetApplied},
		{"case of the key", `{"NewPassword":"` + pw + `"}`, thingspace.ResetApplied},
		{"cut inside the password", `{"newPassword":"` + pw[:5], thingspace.ResetUnknown},
		{"empty password", `{"newPassword":""}`, thingspace.ResetUnknown},
		{"number", `{"newPassword":12345678}`, thingspace.ResetUnknown},
		{"no password", `{"status":"ok"}`, thingspace.ResetUnknown},
		{"html", `<html>OK</html>`, thingspace.ResetUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := answerServer(t, "application/json", tt.body)
			b, err := thingspace.NewREST(thingspace.RESTConfig{BaseURL: srv.URL, AppKey: "k", AppSecret: "s"})
			if err != nil {
				t.Fatal(err)
			}
			res := b.ResetPassword(t.Context(), "session", "Old!Passw0rd")
			if res.Outcome != tt.want {
				t.Fatalf("outcome %v (%v), want %v", res.Outcome, res.Err, tt.want)
			}
			if tt.want == thingspace.ResetApplied && (res.NewPassword.Reveal() != pw || res.Err != nil) {
				t.Fatalf("password %q err %v, want %q and no error", res.NewPassword.Reveal(), res.Err, pw)
			}
			if tt.want == thingspace.ResetUnknown && res.NewPassword != "" {
				t.Fatal("a password came with an unknown outcome")
			}
		})
	}
}

func TestSOAPResetKeepsPasswordOfMalformed200(t *testing.T) {
	const pw = "N3w!Generated&lt;Pw"
	const head = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetNewPasswordResponse xmlns="http://nphase.com/unifiedwebservice/v2"><Output xmlns:a="urn:c"><a:NewPassword>` + pw + `</a:NewPassword>`
	tests := []struct {
		name, body string
		want       thingspace.ResetOutcome
	}{
		{"cut after the password", head + `<a:Expires>20`, thingspace.ResetApplied},
		{"mismatched closing tags", head + `</Output></Wrong></s:Body></s:Envelope>`, thingspace.ResetApplied},
		{"trailing garbage", head + `</Output></GetNewPasswordResponse></s:Body></s:Envelope>garbage<`, thingspace.ResetApplied},
		{"cut inside the password", head[:len(head)-len(`</a:NewPassword>`)-3], thingspace.ResetUnknown},
		{"no body element", `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><a:NewPassword>x</a:NewPassword>`, thingspace.ResetUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := answerServer(t, "text/xml", tt.body)
			b, err := thingspace.NewSOAP(thingspace.SOAPConfig{Endpoint: srv.URL + "/api/v2/SessionService.svc"})
			if err != nil {
				t.Fatal(err)
			}
			res := b.ResetPassword(t.Context(), "session", "Old!Passw0rd")
			if res.Outcome != tt.want {
				t.Fatalf("outcome %v (%v), want %v", res.Outcome, res.Err, tt.want)
			}
			if tt.want == thingspace.ResetApplied && res.NewPassword.Reveal() != "N3w!Generated<Pw" {
				t.Fatalf("password %q", res.NewPassword.Reveal())
			}
		})
	}
}
