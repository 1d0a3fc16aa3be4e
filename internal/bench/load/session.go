package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/uwsportal/uwsportal/internal/gateway"
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

// apiApp is an application's credentials at the gateway: its bearer token
// and its M2M session handle, as Verizon's documented flow gives them.
type apiApp struct {
	token, session string
}

// startApps gets every client a token and a session through the gateway
// (the client credentials flow, then the M2M session login), a few at a
// time.
func startApps(ctx context.Context, base string, clients []gateway.Created) ([]apiApp, error) {
	apps := make([]apiApp, len(clients))
	errs := make([]error, len(clients))
	c := &http.Client{Timeout: 30 * time.Second}
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, cl := range clients {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			// At the gateway a client's ID and secret are both its app key
			// and its M2M login, as Verizon's documented flow has them.
			apps[i], errs[i] = startApp(ctx, c, base, cl.Client.ID, cl.Secret, cl.Client.ID, cl.Secret)
		})
	}
	wg.Wait()
	return apps, errors.Join(errs...)
}

// startApp runs the client credentials flow with app key id and secret,
// then the M2M session login of user, at base: the gateway's or
// ThingSpace's (the simulator's).
func startApp(ctx context.Context, c *http.Client, base, id, secret, user, password string) (apiApp, error) {
	var a apiApp
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/ts/v1/oauth2/token",
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	if err != nil {
		return a, err
	}
	req.SetBasicAuth(id, secret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := postJSON(c, req, &tok); err != nil {
		return a, fmt.Errorf("token for %s: %w", id, err)
	}
	body, err := json.Marshal(map[string]string{"username": user, "password": password})
	if err != nil {
		return a, err
	}
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/m2m/v1/session/login", bytes.NewReader(body))
	if err != nil {
		return a, err
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Content-Type", "application/json")
	var ses struct {
		SessionToken string `json:"sessionToken"`
	}
	if err := postJSON(c, req, &ses); err != nil {
		return a, fmt.Errorf("session for %s: %w", user, err)
	}
	if tok.AccessToken == "" || ses.SessionToken == "" {
		return a, fmt.Errorf("client %s got no token or no session", id)
	}
	return apiApp{token: tok.AccessToken, session: ses.SessionToken}, nil
}

// postJSON sends req and decodes a 200 answer into v.
func postJSON(c *http.Client, req *http.Request, v any) error {
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %.200s", res.StatusCode, b)
	}
	return json.Unmarshal(b, v)
}
