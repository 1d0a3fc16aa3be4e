package devidp

import (
	"context"
	"crypto/rand"
	"github.com/uwsportal/uwsportal/internal/testutil"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

const (
	testClientID     = "uwsportal"
	testClientSecret = "test-secret"
	testRedirectURI  = "http://127.0.0.1:8080/auth/callback"
	testPostLogout   = "http://127.0.0.1:8080/"
)

// testIDP is a running devidp plus a go-oidc relying party configured for it.
type testIDP struct {
	issuer   string
	clock    *testutil.Clock
	provider *oidc.Provider
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// startIDP serves devidp on a loopback httptest server at issuer path
// issuerPath ("" for the root).
func startIDP(t *testing.T, issuerPath string) *testIDP {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String() + issuerPath
	// Real time at the start: go-oidc checks ID token expiry against it.
	clock := testutil.NewClock(time.Now())
	h, err := New(Config{
		Issuer:                 issuer,
		ClientID:               testClientID,
		ClientSecret:           testClientSecret,
		RedirectURIs:           []string{testRedirectURI},
		PostLogoutRedirectURIs: []string{testPostLogout},
		Now:                    clock.Now,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(srv.Close)

	provider, err := oidc.NewProvider(t.Context(), issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &testIDP{
		issuer:   issuer,
		clock:    clock,
		provider: provider,
		oauth: oauth2.Config{
			ClientID:     testClientID,
			ClientSecret: testClientSecret,
			Endpoint:     provider.Endpoint(),
			RedirectURL:  testRedirectURI,
			Scopes:       []string{oidc.ScopeOpenID, "profile", "email", "groups"},
		},
		verifier: provider.Verifier(&oidc.Config{ClientID: testClientID}),
	}
}

// authAttempt is what a relying party remembers between redirect and callback.
type authAttempt struct {
	url, state, nonce, verifier string
}

func (idp *testIDP) newAttempt() authAttempt {
	a := authAttempt{state: rand.Text(), nonce: rand.Text(), verifier: oauth2.GenerateVerifier()}
	a.url = idp.oauth.AuthCodeURL(a.state, oidc.Nonce(a.nonce), oauth2.S256ChallengeOption(a.verifier))
	return a
}

func newBrowser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

// signIn runs the browser part for user and returns the code, after
// checking that the callback carries the attempt's state.
func (idp *testIDP) signIn(t *testing.T, a authAttempt, user string) string {
	t.Helper()
	cb, err := SignIn(t.Context(), newBrowser(t), a.url, user)
	if err != nil {
		t.Fatalf("SignIn(%s): %v", user, err)
	}
	if got := cb.Query().Get("state"); got != a.state {
		t.Fatalf("callback state = %q, want %q", got, a.state)
	}
	code := cb.Query().Get("code")
	if code == "" {
		t.Fatalf("callback %s has no code", cb)
	}
	return code
}

func (idp *testIDP) exchange(ctx context.Context, code, verifier string) (*oauth2.Token, error) {
	return idp.oauth.Exchange(ctx, code, oauth2.VerifierOption(verifier))
}

// verifyIDToken checks signature, issuer, audience, expiry and nonce.
func (idp *testIDP) verifyIDToken(t *testing.T, tok *oauth2.Token, nonce string) *oidc.IDToken {
	t.Helper()
	raw, ok := tok.Extra("id_token").(string)
	if !ok {
		t.Fatal("token response has no id_token")
	}
	idt, err := idp.verifier.Verify(t.Context(), raw)
	if err != nil {
		t.Fatalf("verify ID token: %v", err)
	}
	if idt.Issuer != idp.issuer {
		t.Errorf("iss = %q, want %q", idt.Issuer, idp.issuer)
	}
	if len(idt.Audience) != 1 || idt.Audience[0] != testClientID {
		t.Errorf("aud = %q, want [%q]", idt.Audience, testClientID)
	}
	if idt.Nonce != nonce {
		t.Errorf("nonce = %q, want %q", idt.Nonce, nonce)
	}
	return idt
}
