// Package load runs the portal as a process of its own against a dedicated
// database and the ThingSpace simulator, and drives it with many
// concurrent keep-alive connections, endpoint by endpoint and at each
// concurrency in turn, counting every error. benchreport runs it after the
// benchmarks; it needs no external tool.
package load

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// Options tune Run; zero values pick the defaults.
type Options struct {
	// ServerURL is a Postgres server where the load database may be created.
	ServerURL string
	// Root is the repository, where the portal's command is built.
	Root     string
	Database string        // default uwsportal_bench_load (dropped and recreated)
	Events   int           // seeded audit events, default 100,000
	Conns    []int         // concurrent connections, in turn; default 50, 200
	Duration time.Duration // per endpoint and concurrency, default 30 s
	Log      func(format string, args ...any)
}

// Endpoint is what one endpoint measured at one concurrency.
type Endpoint struct {
	Name, Method, Path string
	Conns              int
	// Offered is the requests a second the connections offered together,
	// each request timed from when it was due; 0 is a closed loop (each
	// connection sends its next request when the answer has come).
	Offered float64
	// Warmed is how long the same load ran untimed on the phase's fresh
	// portal process before it was measured.
	Warmed time.Duration
	// Direct is a call made straight to ThingSpace (the simulator), the
	// paced gateway's floor: no portal process, so no database
	// connections or resident memory of its own.
	Direct   bool
	Requests int64
	Elapsed  time.Duration
	// Errors is every failed request: a status other than the endpoint's
	// success or a transport error. Statuses counts the failed answers by
	// status.
	Errors             int64
	Statuses           map[int]int64
	TransportErrors    int64
	FirstError         string
	P50, P95, P99, Max time.Duration
	// PeakDBConns is the most connections Postgres had open to the load
	// database at once while this phase ran (the portal's pool allows 20).
	PeakDBConns int
	// PeakRSS is the portal process's peak resident memory in the phase,
	// in bytes.
	PeakRSS int64
	// CPU is where the machine's CPU went in the phase (for a Direct
	// row, Portal is this process's).
	CPU CPUUse
}

// RPS is requests per second over the phase.
func (e Endpoint) RPS() float64 {
	if e.Elapsed <= 0 {
		return 0
	}
	return float64(e.Requests) / e.Elapsed.Seconds()
}

// Logins is how many times the simulator saw one account's user log in
// during the whole run.
type Logins struct {
	Account, User string
	Logins        int
}

// Result is the whole load run.
type Result struct {
	Conns       []int
	Duration    time.Duration
	Events      int
	Departments int // with credentials, the simulator's included
	Fleets      int // departments whose account is on the simulator
	Devices     int // on each of the simulator's accounts
	Clients     int // API clients on the gateway
	AppsPerConn int // clients each gateway connection takes turns among
	Endpoints   []Endpoint
	Logins      []Logins
	// ServerErrors are the portal's own error-level log lines during the
	// run (the first few), ServerErrorCount all of them.
	ServerErrors     []string
	ServerErrorCount int
}

const (
	adminUser = "bench-admin"
	// seedDepartments matches the seeded audit trail's department names.
	seedDepartments = testdb.SeedDepartments
	// simDevices are seeded on the simulator's account.
	simDevices = 1000
	// appsPerConn: each gateway connection takes turns among this many API
	// clients, so one client's own rate limit (10 calls/s, burst 20) is
	// not what the load measures: 8 let a connection make 80 calls/s
	// (burst 160), several times what one gets here. With 2, a faster
	// gateway met the clients' limits and the run counted 429s.
	appsPerConn = 8
)

func (o *Options) defaults() {
	if o.Database == "" {
		o.Database = "uwsportal_bench_load"
	}
	if o.Events == 0 {
		o.Events = 100_000
	}
	if len(o.Conns) == 0 {
		o.Conns = []int{50, 200}
	}
	if o.Duration == 0 {
		o.Duration = 30 * time.Second
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
}

// Run builds the portal, prepares the database and the simulator, starts
// the portal, signs in and loads each endpoint at each concurrency in turn.
func Run(ctx context.Context, o Options) (Result, error) {
	o.defaults()
	fleets := []fleet{newFleet(1), newFleet(2)}
	res := Result{Conns: o.Conns, Duration: o.Duration, Events: o.Events, Departments: seedDepartments + len(fleets), Fleets: len(fleets),
		Devices: simDevices, Clients: appsPerConn * maxOf(o.Conns), AppsPerConn: appsPerConn}
	tmp, err := os.MkdirTemp("", "uwsportal-load-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(tmp)
	start := time.Now()
	bin, err := build(ctx, o.Root, tmp)
	if err != nil {
		return res, err
	}
	o.Log("load: built the portal in %s", time.Since(start).Round(time.Millisecond))
	sim, err := startSim(fleets)
	if err != nil {
		return res, err
	}
	defer sim.close()
	dbURL, err := recreate(ctx, o.ServerURL, o.Database)
	if err != nil {
		return res, fmt.Errorf("load database: %w", err)
	}
	env, err := portalEnv(dbURL, sim.url)
	if err != nil {
		return res, err
	}
	password := models.GeneratePassword("Load", "admin")
	start = time.Now()
	clients, err := seed(ctx, func(k string) string { return env[k] }, seedInput{events: o.Events, adminPassword: password, fleets: fleets, clients: res.Clients})
	if err != nil {
		return res, fmt.Errorf("seed: %w", err)
	}
	o.Log("load: database %s seeded with %d audit events, %d departments and %d API clients in %s", o.Database, o.Events, res.Departments, res.Clients, time.Since(start).Round(time.Millisecond))

	logs := &errorLog{}
	portal := func() (*portalProcess, error) { return startPortal(ctx, bin, env, logs) }
	base := "http://" + env["UWSPORTAL_ADDR"]
	s, err := prepare(ctx, portal, base, password, clients)
	if err != nil {
		return res, err
	}
	o.Log("load: signed in as break-glass admin %q; %d API clients have a token and a session", adminUser, len(clients))
	ts := targets(base, fleets, s, o.Events)
	for _, t := range ts {
		for _, conns := range o.Conns {
			o.Log("load: %d connections on %s %s for %s", conns, t.method, t.path, o.Duration)
			r, err := phase(ctx, portal, t, conns, o.Duration, dbURL)
			if err := res.add(o, fmt.Sprintf("%s at %d connections", t.name, conns), r, err); err != nil {
				return res, err
			}
		}
	}
	gw := ts[len(ts)-1]
	o.Log("load: %s paced for %s", gw.name, o.Duration)
	r, err := pacedGateway(ctx, portal, gw, res, o.Duration, dbURL)
	if err := res.add(o, gw.name+", paced", r, err); err != nil {
		return res, err
	}
	for _, f := range fleets {
		res.Logins = append(res.Logins, Logins{Account: f.account, User: f.user, Logins: sim.logins(f.user)})
	}
	res.ServerErrors, res.ServerErrorCount = logs.snapshot()
	o.Log("load: the same list straight to the simulator, paced for %s", o.Duration)
	r, err = pacedDirect(ctx, sim, fleets, r, o.Duration, dbURL)
	return res, res.add(o, "the direct list, paced", r, err)
}

// add keeps what phase measured, or says that it failed.
func (res *Result) add(o Options, phase string, r Endpoint, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", phase, err)
	}
	res.Endpoints = append(res.Endpoints, r)
	o.Log("load: %s at %d (offered %.0f/s): %.0f req/s, p50 %s, p95 %s, p99 %s, %d errors, peak RSS %d MiB", r.Name, r.Conns, r.Offered, r.RPS(), r.P50, r.P95, r.P99, r.Errors, r.PeakRSS>>20)
	return nil
}

// phase starts a fresh portal process, so that its peak RSS is this
// phase's alone (a Go process keeps memory it freed for a while), loads
// it and stops it. Sessions, tokens and the upstream session live in
// Postgres and outlast the process, as they outlast a restart.
func phase(ctx context.Context, portal func() (*portalProcess, error), t target, conns int, d time.Duration, dbURL string) (Endpoint, error) {
	p, err := portal()
	if err != nil {
		return Endpoint{}, err
	}
	defer p.stop()
	return hammer(ctx, t, conns, d, 0, dbURL, p.cmd.Process.Pid)
}

func maxOf(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
