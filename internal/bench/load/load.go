// Package load runs the portal in process against a dedicated database and
// drives it with many concurrent keep-alive connections from one signed-in
// session, endpoint by endpoint, counting every error. benchreport runs it
// after the benchmarks; it needs no external tool.
package load

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	portal "github.com/uwsportal/uwsportal/internal/app"
	"github.com/uwsportal/uwsportal/internal/cli"
	"github.com/uwsportal/uwsportal/internal/config"
	"github.com/uwsportal/uwsportal/internal/departments"
	"github.com/uwsportal/uwsportal/internal/devdb"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// Options tune Run; zero values pick the defaults.
type Options struct {
	// ServerURL is a Postgres server where the load database may be created.
	ServerURL string
	Database  string        // default uwsportal_bench_load (dropped and recreated)
	Events    int           // seeded audit events, default 100,000
	Conns     int           // concurrent connections, default 200
	Duration  time.Duration // per endpoint, default 30 s
	Log       func(format string, args ...any)
}

// Endpoint is what one phase measured.
type Endpoint struct {
	Name, Path string
	Requests   int64
	Elapsed    time.Duration
	// Errors is every failed request: a status other than 200 or a
	// transport error. Statuses counts the non-200 answers by status.
	Errors          int64
	Statuses        map[int]int64
	TransportErrors int64
	FirstError      string
	P50, P99, Max   time.Duration
	// PeakDBConns is the most connections the portal held open to its
	// database at once while this phase ran (its pool allows 20).
	PeakDBConns int
}

// RPS is requests per second over the phase.
func (e Endpoint) RPS() float64 {
	if e.Elapsed <= 0 {
		return 0
	}
	return float64(e.Requests) / e.Elapsed.Seconds()
}

// Result is the whole load run.
type Result struct {
	Conns     int
	Duration  time.Duration
	Events    int
	Endpoints []Endpoint
	// ServerErrors are the portal's own error-level log lines during the
	// run (the first few), ServerErrorCount all of them.
	ServerErrors     []string
	ServerErrorCount int
}

const (
	adminUser = "bench-admin"
	// seedDepartments matches the seeded audit trail's department names.
	seedDepartments = testdb.SeedDepartments
)

func (o *Options) defaults() {
	if o.Database == "" {
		o.Database = "uwsportal_bench_load"
	}
	if o.Events == 0 {
		o.Events = 100_000
	}
	if o.Conns == 0 {
		o.Conns = 200
	}
	if o.Duration == 0 {
		o.Duration = 30 * time.Second
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
}

// Run prepares the database, starts the portal, signs in and loads each
// endpoint in turn.
func Run(ctx context.Context, o Options) (Result, error) {
	o.defaults()
	res := Result{Conns: o.Conns, Duration: o.Duration, Events: o.Events}
	dbURL, err := recreate(ctx, o.ServerURL, o.Database)
	if err != nil {
		return res, fmt.Errorf("load database: %w", err)
	}
	addr, err := freeAddr()
	if err != nil {
		return res, err
	}
	password := "Load-" + strings.ToUpper(secret.GenerateKey()[:8]) + "-" + secret.GenerateKey()[:12] + "!q"
	env := map[string]string{
		"DATABASE_URL":         dbURL,
		"UWSPORTAL_MASTER_KEY": secret.GenerateKey(),
		"UWSPORTAL_ADDR":       addr,
		"UWSPORTAL_BASE_URL":   "http://" + addr,
		// Nothing in the load talks to ThingSpace; the address refuses.
		"THINGSPACE_URL":        "http://127.0.0.1:9",
		"THINGSPACE_SOAP_URL":   "http://127.0.0.1:9/api/v2/SessionService.svc",
		"THINGSPACE_APP_KEY":    "load",
		"THINGSPACE_APP_SECRET": "load",
		// The scheduler would only add background queries to what is measured.
		"UWSPORTAL_SCHEDULER": "false",
	}
	getenv := func(k string) string { return env[k] }
	start := time.Now()
	if err := seed(ctx, getenv, o.Events, password); err != nil {
		return res, fmt.Errorf("seed: %w", err)
	}
	o.Log("load: database %s seeded with %d audit events and %d departments in %s", o.Database, o.Events, seedDepartments, time.Since(start).Round(time.Millisecond))

	logs := &errorLog{}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() {
		served <- cli.Run(sctx, []string{"uwsportal", "serve"}, getenv, cli.Stdio{In: strings.NewReader(""), Out: io.Discard, Err: logs})
	}()
	defer func() {
		stop()
		select {
		case <-served:
		case <-time.After(30 * time.Second):
		}
	}()
	base := "http://" + addr
	if err := waitReady(ctx, base, served); err != nil {
		return res, err
	}
	cookie, err := signIn(ctx, base, password)
	if err != nil {
		return res, fmt.Errorf("sign in: %w", err)
	}
	o.Log("load: portal on %s, signed in as break-glass admin %q", base, adminUser)

	until := testdb.SeedStart.Add(time.Duration(o.Events) * testdb.SeedStep)
	f := models.AuditFilter{Actor: "1007", Department: "dept03", Since: until.AddDate(0, 0, -30)}
	for _, ep := range []struct{ name, path string }{
		{"dashboard", "/"},
		{"audit search (actor, department, 30 days)", "/audit?" + f.Query().Encode()},
	} {
		o.Log("load: %d connections on GET %s for %s", o.Conns, ep.path, o.Duration)
		r, err := hammer(ctx, base, ep.path, cookie, o.Conns, o.Duration, dbURL)
		if err != nil {
			return res, err
		}
		r.Name = ep.name
		res.Endpoints = append(res.Endpoints, r)
		o.Log("load: %s: %.0f req/s, p50 %s, p99 %s, %d errors", ep.name, r.RPS(), r.P50, r.P99, r.Errors)
	}
	res.ServerErrors, res.ServerErrorCount = logs.snapshot()
	return res, nil
}

// recreate drops and creates the load database, so every run starts from
// the same state.
func recreate(ctx context.Context, server, name string) (string, error) {
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return "", err
	}
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	conn.Close(ctx)
	if err != nil {
		return "", err
	}
	return devdb.EnsureDatabase(ctx, server, name)
}

// seed migrates, appends the audit trail (which must start empty), creates
// the departments with credentials through the service layer and the
// break-glass admin through the command line, as an operator would.
func seed(ctx context.Context, getenv func(string) string, events int, password string) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	pa, err := portal.Open(ctx, portal.Env{Getenv: getenv, Log: slog.New(slog.DiscardHandler), MaxConns: 4}, cfg, "load")
	if err != nil {
		return err
	}
	defer pa.DB.Close()
	if _, err := pa.DB.Migrate(ctx); err != nil {
		return err
	}
	if err := testdb.SeedAudit(ctx, pa.DB, events); err != nil {
		return err
	}
	admin := &models.Principal{Actor: "cli:bench", Name: "Load Setup", Grants: []models.Grant{{Role: models.RoleAdmin}}}
	for i := range seedDepartments {
		slug := fmt.Sprintf("dept%02d", i)
		d := models.Department{Slug: slug, Name: fmt.Sprintf("Department %02d", i), Protocol: models.ProtocolREST, MaxAgeDays: 90, ScheduleEnabled: true}
		if _, err := pa.Departments.CreateDepartment(ctx, admin, models.RequestMeta{}, d); err != nil {
			return err
		}
		pw := secret.Secret("Seed-" + strings.ToUpper(secret.GenerateKey()[:6]) + "-" + secret.GenerateKey()[:10] + "!q")
		if err := pa.Departments.SetCredential(ctx, admin, models.RequestMeta{},
			departments.CredentialInput{Department: slug, Username: fmt.Sprintf("dept%02d_mycompanyUWS", i), Password: pw}); err != nil {
			return err
		}
	}
	var out bytes.Buffer
	err = cli.Run(ctx, []string{"uwsportal", "create-admin", "--username", adminUser}, getenv,
		cli.Stdio{In: strings.NewReader(password + "\n"), Out: &out, Err: &out})
	if err != nil {
		return fmt.Errorf("create-admin: %w: %s", err, out.String())
	}
	return nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitReady(ctx context.Context, base string, served <-chan error) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-served:
			return fmt.Errorf("the portal stopped: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		res, err := http.Get(base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return errors.New("the portal did not become ready within 60 s")
}

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

// hammer runs conns workers, each on its own keep-alive connection, sending
// GET path until the duration is up. A request in flight at the end is
// allowed to finish and counts.
func hammer(ctx context.Context, base, path string, cookie *http.Cookie, conns int, d time.Duration, dbURL string) (Endpoint, error) {
	tr := &http.Transport{
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns,
		IdleConnTimeout: time.Minute, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	ep := Endpoint{Path: path, Statuses: map[int]int64{}}
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr atomic.Value

	peak := watchDBConns(ctx, dbURL)
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, 4096)
			statuses := map[int]int64{}
			var transport int64
			for time.Now().Before(deadline) && ctx.Err() == nil {
				req, _ := http.NewRequest(http.MethodGet, base+path, nil)
				req.AddCookie(cookie)
				// As a browser would; set by hand, the body stays compressed
				// and the generator spends no CPU inflating it.
				req.Header.Set("Accept-Encoding", "gzip")
				t0 := time.Now()
				res, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
				mine = append(mine, time.Since(t0))
				switch {
				case err != nil:
					transport++
					firstErr.CompareAndSwap(nil, err.Error())
				case res.StatusCode != http.StatusOK:
					statuses[res.StatusCode]++
					firstErr.CompareAndSwap(nil, fmt.Sprintf("status %d (request ID %s)", res.StatusCode, res.Header.Get("X-Request-Id")))
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			for k, v := range statuses {
				ep.Statuses[k] += v
				ep.Errors += v
			}
			ep.TransportErrors += transport
			ep.Errors += transport
			mu.Unlock()
		}()
	}
	wg.Wait()
	ep.Elapsed = time.Since(start)
	ep.PeakDBConns = peak()
	if v, ok := firstErr.Load().(string); ok {
		ep.FirstError = v
	}
	ep.Requests = int64(len(lat))
	if len(lat) == 0 {
		return ep, errors.New("no request completed")
	}
	slices.Sort(lat)
	ep.P50, ep.P99, ep.Max = lat[len(lat)*50/100], lat[len(lat)*99/100], lat[len(lat)-1]
	return ep, nil
}

// watchDBConns samples how many connections the portal holds on its
// database (pg_stat_activity, by application name) until the returned
// function is called, which gives the peak.
func watchDBConns(ctx context.Context, dbURL string) func() int {
	done := make(chan int)
	stop := make(chan struct{})
	go func() {
		peak := 0
		conn, err := pgx.Connect(ctx, dbURL)
		if err == nil {
			defer conn.Close(context.WithoutCancel(ctx))
		}
		for {
			select {
			case <-stop:
				done <- peak
				return
			case <-time.After(200 * time.Millisecond):
			}
			if conn == nil {
				continue
			}
			var n int
			if conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'uwsportal'`).Scan(&n) == nil {
				peak = max(peak, n)
			}
		}
	}()
	return func() int { close(stop); return <-done }
}

// errorLog keeps the portal's error-level log lines (JSON, one per write).
type errorLog struct {
	mu    sync.Mutex
	lines []string
	n     int
}

func (l *errorLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	sc := bufio.NewScanner(bytes.NewReader(p))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, `"level":"ERROR"`) {
			l.n++
			if len(l.lines) < 5 {
				l.lines = append(l.lines, line)
			}
		}
	}
	return len(p), nil
}

func (l *errorLog) snapshot() ([]string, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines), l.n
}
