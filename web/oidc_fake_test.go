package web

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
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
	k1, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeIdP{key: k1, other: k2}
	// answer writes v as JSON; handlers run off the test's goroutine.
	answer := func(w http.ResponseWriter, v any) {
		if err := json.NewEncoder(w).Encode(v); err != nil {
			t.Errorf("fake IdP: %v", err)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		answer(w, map[string]any{
			"issuer": f.URL, "authorization_endpoint": f.URL + "/authorize", "token_endpoint": f.URL + "/token",
			"jwks_uri": f.URL + "/keys", "userinfo_endpoint": f.URL + "/userinfo",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		answer(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &f.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
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
		answer(w, map[string]any{"sub": "user-1", "groups": f.currentGroups()})
	})
	mux.HandleFunc("/token", f.token(t, answer))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(mux)
	if err := srv.Listener.Close(); err != nil {
		t.Fatal(err)
	}
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// token is the fake token endpoint: the code or a refresh token for an ID
// token shaped (and signed) as the test asks.
func (f *fakeIdP) token(t *testing.T, answer func(http.ResponseWriter, any)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if r.FormValue("grant_type") == "refresh_token" && (f.refuse || r.FormValue("refresh_token") != "rt") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			if _, err := io.WriteString(w, `{"error":"invalid_grant"}`); err != nil {
				t.Errorf("fake IdP: %v", err)
			}
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
		tok, err := signToken(signer, claims)
		if err != nil {
			t.Errorf("fake IdP: %v", err)
			http.Error(w, "cannot sign", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		answer(w, map[string]any{"access_token": "at", "refresh_token": "rt", "token_type": "Bearer", "expires_in": 300, "id_token": tok})
	}
}

// signToken makes a compact RS256 JWT of claims, signed by key as "k1".
func signToken(key *rsa.PrivateKey, claims map[string]any) (string, error) {
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, nil)
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	obj, err := sig.Sign(payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
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
