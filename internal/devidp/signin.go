package devidp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// SignIn plays the person at the browser for tests: it follows authURL (the
// relying party's authorization URL) with client, submits the devidp sign-in
// form for user, and returns the redirect to the relying party's
// redirect_uri without following it, so the test can GET it itself.
//
// client should have a cookie jar when the relying party's callback needs
// its own cookies; SignIn does not change client (it uses a copy with its
// own redirect policy). If devidp answers the relying party with an OAuth
// error (e.g. missing PKCE), SignIn returns that callback URL together with
// an error naming the OAuth error code. Only response_mode=query is
// supported.
func SignIn(ctx context.Context, client *http.Client, authURL string, user string) (callbackURL *url.URL, err error) {
	start, err := url.Parse(authURL)
	if err != nil {
		return nil, fmt.Errorf("devidp sign-in: parse authorization URL: %w", err)
	}
	redirect, err := url.Parse(start.Query().Get("redirect_uri"))
	if err != nil || !redirect.IsAbs() {
		return nil, fmt.Errorf("devidp sign-in: authorization URL has no absolute redirect_uri")
	}
	if client == nil {
		client = http.DefaultClient
	}
	c := *client
	// Follow redirects within devidp; stop at the relying party.
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if sameEndpoint(req.URL, redirect) {
			return http.ErrUseLastResponse
		}
		if len(via) >= 10 {
			return errors.New("too many redirects")
		}
		return nil
	}

	// 1. The authorization request lands on the sign-in page.
	resp, err := do(ctx, &c, http.MethodGet, authURL, nil)
	if err != nil {
		return nil, err
	}
	if cb, ok, err := callback(resp, redirect); ok {
		return cb, err // devidp refused the request outright
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("devidp sign-in: sign-in page: %s", resp.Status)
	}
	loginURL := resp.Request.URL
	id := loginURL.Query().Get("authRequestID")
	if id == "" {
		return nil, fmt.Errorf("devidp sign-in: landed on %s, not the sign-in page", loginURL.Redacted())
	}

	// 2. Press the user's button.
	form := url.Values{"authRequestID": {id}, "user": {user}}
	post := *loginURL
	post.RawQuery = ""
	resp, err = do(ctx, &c, http.MethodPost, post.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	if cb, ok, err := callback(resp, redirect); ok {
		return cb, err
	}
	return nil, fmt.Errorf("devidp sign-in as %q: %s, no redirect to the relying party", user, resp.Status)
}

// do sends one request and drains the body: SignIn needs only status,
// final URL and Location.
func do(ctx context.Context, c *http.Client, method, target string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, fmt.Errorf("devidp sign-in: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("devidp sign-in: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	return resp, nil
}

// callback reports whether resp redirects to the relying party, and if so
// where, with an error if that redirect carries an OAuth error.
func callback(resp *http.Response, redirect *url.URL) (*url.URL, bool, error) {
	if resp.StatusCode < 300 || resp.StatusCode > 399 {
		return nil, false, nil
	}
	loc, err := resp.Location()
	if err != nil || !sameEndpoint(loc, redirect) {
		return nil, false, nil
	}
	if code := loc.Query().Get("error"); code != "" {
		return loc, true, fmt.Errorf("devidp sign-in: authorization failed: %s: %s", code, loc.Query().Get("error_description"))
	}
	return loc, true, nil
}

// sameEndpoint compares scheme, host and path, ignoring the query.
func sameEndpoint(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host) && a.Path == b.Path
}
