package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// signIn signs the break-glass admin in through the form, as a browser
// does, and returns the session cookie.
func signIn(ctx context.Context, base, password string) (*http.Cookie, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get, err := c.Get(base + "/login/local")
	if err != nil {
		return nil, err
	}
	page, err := io.ReadAll(get.Body)
	get.Body.Close()
	if err != nil {
		return nil, err
	}
	// The CSRF token lives in the server-side session; the page carries it.
	m := csrfMeta.FindSubmatch(page)
	if m == nil {
		return nil, errors.New("GET /login/local carries no CSRF token")
	}
	token := string(m[1])
	u, _ := url.Parse(base)
	form := url.Values{"username": {adminUser}, "password": {password}, "csrf_token": {token}, "next": {"/"}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/login/local", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	post, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, post.Body)
	post.Body.Close()
	if post.StatusCode != http.StatusSeeOther {
		return nil, fmt.Errorf("POST /login/local: status %d, want 303", post.StatusCode)
	}
	session := cookieValue(jar.Cookies(u), "uwsportal_session")
	if session == "" {
		return nil, errors.New("POST /login/local set no session cookie")
	}
	return &http.Cookie{Name: "uwsportal_session", Value: session}, nil
}

// csrfMeta finds the CSRF token a page carries.
var csrfMeta = regexp.MustCompile(`name="csrf-token" content="([^"]+)"`)

func cookieValue(cs []*http.Cookie, name string) string {
	for _, c := range cs {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}
