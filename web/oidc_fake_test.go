package web

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// fakeIdP is a minimal OpenID provider whose ID tokens a test shapes, to
// drive the error paths a real provider never produces.
type fakeIdP struct {
	URL    string
	key    *rsa.PrivateKey
	other  *rsa.PrivateKey // signs "tampered" tokens
	mu     sync.Mutex
	shape  func(claims map[string]any, nonce string) // edits the next token's claims
	signBy *rsa.PrivateKey
	nonce  string
	groups []string // the person's groups now; nil means uwsportal-admins
	refuse bool     // refresh and userinfo answer 400/401
}

func newFakeIdP(t *testing.T) *fakeIdP {
	t.Helper()
	k1, _ := rsa.GenerateKey(rand.Reader, 2048)
	k2, _ := rsa.GenerateKey(rand.Reader, 2048)
	f := &fakeIdP{key: k1, other: k2}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": f.URL, "authorization_endpoint": f.URL + "/authorize", "token_endpoint": f.URL + "/token",
			"jwks_uri": f.URL + "/keys", "userinfo_endpoint": f.URL + "/userinfo",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &f.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("/authorize", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.nonce = r.URL.Query().Get("nonce")
		f.mu.Unlock()
		q := url.Values{"code": {"the-code"}, "state": {r.URL.Query().Get("state")}}
		http.Redirect(w, r, r.URL.Query().Get("redirect_uri")+"?"+q.Encode(), http.StatusFound)
	})
	mux.HandleFunc("/userinfo", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.refuse || r.Header.Get("Authorization") != "Bearer at" {
			http.Error(w, "invalid token", http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"sub": "user-1", "groups": f.currentGroups()})
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if r.FormValue("grant_type") == "refresh_token" && (f.refuse || r.FormValue("refresh_token") != "rt") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
		claims := map[string]any{"iss": f.URL, "sub": "user-1", "aud": "uwsportal", "exp": time.Now().Add(time.Hour).Unix(),
			"iat": time.Now().Unix(), "nonce": f.nonce, "name": "Fake User", "groups": f.currentGroups()}
		signer := f.key
		if f.shape != nil {
			f.shape(claims, f.nonce)
		}
		if f.signBy != nil {
			signer = f.signBy
		}
		sig, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: signer, KeyID: "k1"}}, nil)
		payload, _ := json.Marshal(claims)
		obj, _ := sig.Sign(payload)
		tok, _ := obj.CompactSerialize()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "refresh_token": "rt", "token_type": "Bearer", "expires_in": 300, "id_token": tok})
	})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

func (f *fakeIdP) currentGroups() []string {
	if f.groups == nil {
		return []string{"uwsportal-admins"}
	}
	return f.groups
}

func (f *fakeIdP) set(groups []string, refuse bool) {
	f.mu.Lock()
	f.groups, f.refuse = groups, refuse
	f.mu.Unlock()
}

// signInFake signs a fresh browser in through the fake IdP.
func signInFake(t *testing.T, ts *testServer) *http.Client {
	t.Helper()
	c := anonClient()
	res, _ := do(t, c, http.MethodGet, ts.URL+"/auth/login", nil)
	res, _ = do(t, c, http.MethodGet, res.Header.Get("Location"), nil)
	if res, body := do(t, c, http.MethodGet, res.Header.Get("Location"), nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d %.300s", res.StatusCode, body)
	}
	return c
}

func TestCallbackRejectsBadIDTokens(t *testing.T) {
	t.Parallel()
	idp := newFakeIdP(t)
	ts := newTestServer(t, testdb.New(t), map[string]string{"OIDC_ISSUER": idp.URL, "OIDC_CLIENT_ID": "uwsportal",
		"OIDC_CLIENT_SECRET": "s", "UWSPORTAL_ADMIN_GROUPS": "uwsportal-admins"})
	cases := map[string]struct {
		shape  func(map[string]any, string)
		signer *rsa.PrivateKey
		ok     bool
	}{
		"valid":          {ok: true},
		"expired":        {shape: func(c map[string]any, _ string) { c["exp"] = time.Now().Add(-time.Hour).Unix() }},
		"wrong audience": {shape: func(c map[string]any, _ string) { c["aud"] = "someone-else" }},
		"wrong issuer":   {shape: func(c map[string]any, _ string) { c["iss"] = "http://evil.example" }},
		"nonce mismatch": {shape: func(c map[string]any, _ string) { c["nonce"] = "replayed-nonce" }},
		"no nonce":       {shape: func(c map[string]any, _ string) { delete(c, "nonce") }},
		"tampered":       {signer: idp.other},
	}
	for name, tc := range cases {
		idp.mu.Lock()
		idp.shape, idp.signBy = tc.shape, tc.signer
		idp.mu.Unlock()
		c := anonClient()
		res, _ := do(t, c, http.MethodGet, ts.URL+"/auth/login", nil)
		res, _ = do(t, c, http.MethodGet, res.Header.Get("Location"), nil) // the fake IdP answers at once
		res, body := do(t, c, http.MethodGet, res.Header.Get("Location"), nil)
		if tc.ok != (res.StatusCode == http.StatusSeeOther) {
			t.Errorf("%s: status %d: %.300s", name, res.StatusCode, body)
		}
		if !tc.ok && !strings.Contains(body, "could not be verified") {
			t.Errorf("%s: unclear page", name)
		}
	}
	if failed := ts.failures(t, models.EvSignInFailed); failed != len(cases)-1 {
		t.Fatalf("%d failures audited, want %d", failed, len(cases)-1)
	}
}
