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
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/uwsportal/uwsportal/internal/cli"
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
