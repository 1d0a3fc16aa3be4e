package web

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/uwsportal/uwsportal/internal/secret"
)

// FuzzReadAuthState: the pre-sign-in cookie comes from the browser; no
// value made without the portal's key is ever taken for a sign-in state,
// and none makes the reader fail other than by saying "no state".
func FuzzReadAuthState(f *testing.F) {
	keys, err := secret.ParseKeys(secret.GenerateKey())
	if err != nil {
		f.Fatal(err)
	}
	stateKeys, err := keys.Derive("oidc-state")
	if err != nil {
		f.Fatal(err)
	}
	s := &Server{stateKeys: stateKeys, now: time.Now}
	good := authState{State: "s", Nonce: "n", Verifier: "v", Next: "/", Expires: time.Now().Add(time.Hour).Unix()}
	id, ct, err := stateKeys.Seal(marshalState(good), stateAAD)
	if err != nil {
		f.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	valid := stateVersion + "." + id + "." + b64(ct)
	for _, seed := range []string{"", ".", "v2..", "v1." + id + "." + b64(ct), valid[:len(valid)-2] + "AA", "v2.x.%%%"} {
		f.Add(seed)
	}
	e := echo.New()
	f.Fuzz(func(t *testing.T, value string) {
		req := httptest.NewRequest(http.MethodGet, "/auth/callback", nil)
		req.AddCookie(&http.Cookie{Name: authCookie, Value: value})
		c := e.NewContext(req, httptest.NewRecorder())
		sent := "" // what reached the server after net/http's cookie sanitising
		if ck, err := c.Cookie(authCookie); err == nil {
			sent = ck.Value
		}
		if st, ok := s.readAuthState(c); ok && sent != valid {
			t.Fatalf("cookie %q accepted as %+v", sent, st)
		}
	})
}
