package devidp

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// noRedirects returns a client that reports redirects instead of following.
func noRedirects() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, target string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(target)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func postForm(t *testing.T, c *http.Client, target string, form url.Values) *http.Response {
	t.Helper()
	resp, err := c.PostForm(target, form)
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestLoginPage(t *testing.T) {
	idp := startIDP(t, "")
	browser := newBrowser(t)
	resp, body := get(t, browser, idp.newAttempt().url)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login page: %s", resp.Status)
	}
	for _, want := range []string{
		"Development identity provider — for development only, never for production",
		`<form method="post" action="/login" id="login-form">`,
		`name="authRequestID"`,
		`<button type="submit" name="user" value="alice" id="user-alice">`,
		`<button type="submit" name="user" value="nora" id="user-nora">`,
		"uwsportal-admins", "field-ops-leads",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("login page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script") {
		t.Error("login page has a script")
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP = %q", csp)
	}

	loginURL := resp.Request.URL
	id := loginURL.Query().Get("authRequestID")
	action := idp.issuer + "/login"
	if r := postForm(t, noRedirects(), action, url.Values{"authRequestID": {id}, "user": {"mallory"}}); r.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown user: %s, want 400", r.Status)
	}
	if r := postForm(t, noRedirects(), action, url.Values{"authRequestID": {"nope"}, "user": {"alice"}}); r.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown request: %s, want 400", r.Status)
	}
	r := postForm(t, noRedirects(), action, url.Values{"authRequestID": {id}, "user": {"alice"}})
	if loc := r.Header.Get("Location"); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, idp.issuer+"/authorize/callback?id=") {
		t.Fatalf("sign-in: %s to %q, want 303 to the authorize callback", r.Status, loc)
	}
	// The back button must not turn alice's sign-in into someone else's.
	if r := postForm(t, noRedirects(), action, url.Values{"authRequestID": {id}, "user": {"lena"}}); r.StatusCode != http.StatusBadRequest {
		t.Errorf("second sign-in on one request: %s, want 400", r.Status)
	}
	if r, _ := get(t, noRedirects(), idp.issuer+"/login?authRequestID=nope"); r.StatusCode != http.StatusBadRequest {
		t.Errorf("login page for unknown request: %s, want 400", r.Status)
	}
}

func TestCallbackMintsOneCodePerSignIn(t *testing.T) {
	idp := startIDP(t, "")
	resp, _ := get(t, newBrowser(t), idp.newAttempt().url)
	id := resp.Request.URL.Query().Get("authRequestID")
	r := postForm(t, noRedirects(), idp.issuer+"/login", url.Values{"authRequestID": {id}, "user": {"alice"}})
	callback := r.Header.Get("Location")
	first, _ := get(t, noRedirects(), callback)
	second, _ := get(t, noRedirects(), callback)
	if !strings.Contains(first.Header.Get("Location"), "code=") {
		t.Fatalf("first callback: %s to %q, want a code", first.Status, first.Header.Get("Location"))
	}
	if strings.Contains(second.Header.Get("Location"), "code=") {
		t.Errorf("reloaded callback minted another code: %q", second.Header.Get("Location"))
	}
}

func TestEndSession(t *testing.T) {
	idp := startIDP(t, "")
	var disc struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := idp.provider.Claims(&disc); err != nil || disc.EndSession != idp.issuer+"/end_session" {
		t.Fatalf("end_session_endpoint = %q (%v), want %s/end_session", disc.EndSession, err, idp.issuer)
	}

	a := idp.newAttempt()
	tok, err := idp.exchange(t.Context(), idp.signIn(t, a, "alice"), a.verifier)
	if err != nil {
		t.Fatal(err)
	}
	idToken, _ := tok.Extra("id_token").(string)
	q := url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {testPostLogout}, "state": {"bye"}}
	resp, _ := get(t, noRedirects(), disc.EndSession+"?"+q.Encode())
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != testPostLogout+"?state=bye" {
		t.Fatalf("end_session: %s to %q, want 302 to %s?state=bye", resp.Status, loc, testPostLogout)
	}
	if _, err := idp.provider.UserInfo(t.Context(), oauth2.StaticTokenSource(tok)); err == nil {
		t.Error("userinfo still accepts the access token after sign-out")
	}

	q.Set("post_logout_redirect_uri", "https://evil.example/")
	resp, _ = get(t, noRedirects(), disc.EndSession+"?"+q.Encode())
	if loc := resp.Header.Get("Location"); strings.Contains(loc, "evil.example") {
		t.Errorf("end_session redirected to an unregistered URI: %s %q", resp.Status, loc)
	}

	resp, body := get(t, newBrowser(t), disc.EndSession)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "signed out") {
		t.Errorf("end_session without parameters: %s, want the signed-out page", resp.Status)
	}
}
