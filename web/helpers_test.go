package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/clock"
	"github.com/uwsportal/uwsportal/internal/testutil"

	"github.com/uwsportal/uwsportal/internal/app"
	"github.com/uwsportal/uwsportal/internal/config"
	"github.com/uwsportal/uwsportal/internal/metrics"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

type testServer struct {
	*Server
	DB    *store.DB // the portal's own handle on the test database
	URL   string
	Logs  *testutil.Buffer
	Clock *testutil.Clock
}

var userSeq atomic.Int64

// client returns a browser-like client (cookie jar, no redirects followed)
// signed in as a fresh user holding grants; none means a user with no role.
func (ts *testServer) client(t *testing.T, grants ...models.Grant) *http.Client {
	t.Helper()
	ctx := context.Background()
	var user models.User
	err := ts.DB.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		n := userSeq.Add(1)
		user, err = ts.DB.UpsertSignIn(ctx, tx, models.User{Issuer: "test", Subject: fmt.Sprint("u", n), Name: fmt.Sprint("Test User ", n), Grants: grants}, time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ts.sessionClient(t, user.ID)
}

// sessionClient makes a client whose session is signed in as userID.
func (ts *testServer) sessionClient(t *testing.T, userID int64) *http.Client {
	t.Helper()
	sctx, err := ts.sessions.Load(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	now := ts.now().Unix()
	ts.sessions.Put(sctx, keyUser, userID)
	ts.sessions.Put(sctx, keyCreated, now)
	ts.sessions.Put(sctx, keySeen, now)
	token, _, err := ts.sessions.Commit(sctx)
	if err != nil {
		t.Fatal(err)
	}
	c := anonClient()
	u, err := url.Parse(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	c.Jar.SetCookies(u, []*http.Cookie{{Name: "uwsportal_session", Value: token, Path: "/"}})
	return c
}

// anonClient is a browser without a session that does not follow redirects.
func anonClient() *http.Client {
	jar, err := cookiejar.New(nil) // no error is documented for it
	if err != nil {
		panic(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// do sends a request with c and returns the response and body.
func do(t *testing.T, c *http.Client, method, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

// csrfInput finds the CSRF token a page carries.
var csrfInput = regexp.MustCompile(`name="csrf-token" content="([^"]+)"`)

// csrf returns the CSRF token of c's session (starting one if need be), as
// a page shows it.
func (ts *testServer) csrf(t *testing.T, c *http.Client) string {
	t.Helper()
	res, body := do(t, c, http.MethodGet, ts.URL+"/login/local", nil)
	m := csrfInput.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token on /login/local (%d)", res.StatusCode)
	}
	return m[1]
}

// post submits a form with a valid CSRF token.
func (ts *testServer) post(t *testing.T, c *http.Client, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf_token", ts.csrf(t, c))
	return do(t, c, http.MethodPost, ts.URL+path, form)
}

// events returns the codes of the audit trail in order.
func (ts *testServer) events(t *testing.T) []string {
	t.Helper()
	rows, err := ts.DB.Pool.Query(context.Background(), "SELECT code FROM audit_events ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func newTestServer(t *testing.T, db *store.DB, env map[string]string) *testServer {
	t.Helper()
	return newTestServerAt(t, db, env, "127.0.0.1:0")
}

// newWiredTestServer is newTestServer whose portal's handle on the
// database counts its round trips.
func newWiredTestServer(t *testing.T, db *store.DB, env map[string]string) (*testServer, *store.RoundTrips) {
	t.Helper()
	wire := &store.RoundTrips{}
	return serve(t, db, env, "127.0.0.1:0", wire), wire
}

// newTestServerAt serves on addr (which the base URL may already name).
func newTestServerAt(t *testing.T, db *store.DB, env map[string]string, addr string) *testServer {
	t.Helper()
	return serve(t, db, env, addr, nil)
}

// serve is a portal on addr over db's database; wire, if set, counts the
// round trips of the portal's own handle on it.
func serve(t *testing.T, db *store.DB, env map[string]string, addr string, wire *store.RoundTrips) *testServer {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if env["UWSPORTAL_BASE_URL"] == "" {
		env["UWSPORTAL_BASE_URL"] = "http://" + ln.Addr().String()
	}
	if env["UWSPORTAL_MASTER_KEY"] == "" {
		env["UWSPORTAL_MASTER_KEY"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	logs := &testutil.Buffer{}
	keys, err := secret.ParseKeys(env["UWSPORTAL_MASTER_KEY"])
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	up, err := app.UpstreamConfig(cfg, "test", clock.System)
	if err != nil {
		t.Fatal(err)
	}
	// The portal's own handle on the test database: its clock, and audit
	// writes counted in its metrics, are given when a handle is opened.
	m := metrics.New()
	opts := app.DBOptions(log, m, 10)
	opts.Now, opts.RoundTrips = testutil.ClockFor(t).Now, wire
	pdb, err := store.Open(context.Background(), db.Pool.Config().ConnString(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pdb.Close)
	pa, err := app.New(app.Parts{Config: cfg, DB: pdb, Keys: keys, Upstream: up, Log: log, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Deps{App: pa, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(s.Handler())
	if err := hs.Listener.Close(); err != nil {
		t.Fatal(err)
	}
	hs.Listener = ln
	hs.Start()
	t.Cleanup(hs.Close)
	return &testServer{Server: s, DB: pdb, URL: hs.URL, Logs: logs, Clock: testutil.ClockFor(t)}
}

func get(t *testing.T, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

// readAll reads a response body; a read error becomes part of the text, so
// it fails whatever the caller expected.
func readAll(res *http.Response) string {
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return string(b) + " [read error: " + err.Error() + "]"
	}
	return string(b)
}
