// Package faults holds the fault suite: the portal run as it is in
// production (the real command line, real PostgreSQL, the ThingSpace
// simulator) while its database goes away, its upstream misbehaves and it
// is told to stop.
package faults

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/testutil"

	"github.com/uwsportal/uwsportal/internal/cli"
	"github.com/uwsportal/uwsportal/internal/secret"
)

// portal is one in-process instance of `uwsportal serve`.
type portal struct {
	URL  string
	Env  map[string]string
	Logs *testutil.Buffer
	stop context.CancelFunc
	done chan error
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startPortal runs serve with env (DATABASE_URL and friends) and waits
// until it answers /healthz.
func startPortal(t *testing.T, env map[string]string) *portal {
	t.Helper()
	addr := freeAddr(t)
	full := map[string]string{"UWSPORTAL_ADDR": addr, "UWSPORTAL_BASE_URL": "http://" + addr, "UWSPORTAL_SCHEDULER": "false",
		"UWSPORTAL_SHUTDOWN_TIMEOUT": "10s"}
	if env["UWSPORTAL_MASTER_KEY"] == "" {
		full["UWSPORTAL_MASTER_KEY"] = secret.GenerateKey()
	}
	for k, v := range env {
		full[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &portal{URL: "http://" + full["UWSPORTAL_ADDR"], Env: full, Logs: &testutil.Buffer{}, stop: cancel, done: make(chan error, 1)}
	go func() {
		p.done <- cli.Run(ctx, []string{"uwsportal", "serve"}, func(k string) string { return full[k] }, cli.Stdio{In: strings.NewReader(""), Out: p.Logs, Err: p.Logs})
	}()
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Logf("stop the portal: %v", err) // a test may have stopped it on purpose
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(p.URL + "/healthz")
		if err == nil {
			if err := res.Body.Close(); err != nil {
				t.Fatal(err)
			}
			return p
		}
		select {
		case err := <-p.done:
			t.Fatalf("portal exited: %v\n%s", err, p.Logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("portal did not start:\n%s", p.Logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop ends the portal as SIGTERM would and returns serve's result.
func (p *portal) Stop() error {
	p.stop()
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(30 * time.Second):
		return fmt.Errorf("portal did not stop")
	}
}

// run runs one command line against the portal's environment.
func (p *portal) run(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	var out testutil.Buffer
	err := cli.Run(context.Background(), append([]string{"uwsportal"}, args...), func(k string) string { return p.Env[k] },
		cli.Stdio{In: strings.NewReader(stdin), Out: &out, Err: &out})
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// browser is an HTTP client with cookies that does not follow redirects.
func browser() *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		panic(err) // cookiejar.New fails only on a bad PublicSuffixList, and there is none
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func fetch(c *http.Client, method, u string, form url.Values) (int, string, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return 0, "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

// signInBreakGlass creates a break-glass admin and signs c in with it.
func (p *portal) signInBreakGlass(t *testing.T, c *http.Client) {
	t.Helper()
	const pw = "Br3ak-Gl4ss!Faults#2026"
	p.run(t, pw+"\n", "create-admin", "--username", "faults")
	token := p.csrf(c)
	status, body, err := fetch(c, http.MethodPost, p.URL+"/login/local", url.Values{"username": {"faults"}, "password": {pw}, "csrf_token": {token}})
	if err != nil || status != http.StatusSeeOther {
		t.Fatalf("break-glass sign-in: %d %v %.300s", status, err, body)
	}
}

// csrf returns the CSRF token of c's session on p, as its pages show it
// (the token lives in the server-side session, not in a cookie).
func (p *portal) csrf(c *http.Client) string {
	_, body, err := fetch(c, http.MethodGet, p.URL+"/login/local", nil)
	if err != nil {
		return ""
	}
	m := regexp.MustCompile(`name="csrf-token" content="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}
