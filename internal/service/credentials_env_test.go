package service

import (
	"context"
	"errors"
	"github.com/uwsportal/uwsportal/internal/testutil"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/metrics"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/internal/tsim"
	"github.com/uwsportal/uwsportal/models"
)

const (
	simKey    = "app-key"
	simSecret = "app-secret"
	goodPW    = "Corr3ct-Horse!Battery"
)

var meta = models.RequestMeta{SourceIP: "192.0.2.1", UserAgent: "test", RequestID: "req-1"}

// simServer is the simulator on loopback, with an optional hook run
// before each request (fault timing: take the database down when the
// reset arrives).
type simServer struct {
	sim  *tsim.Server
	srv  *httptest.Server
	mu   sync.Mutex
	hook func(*http.Request)
}

func newSim(t testing.TB) *simServer {
	s := &simServer{sim: tsim.New(tsim.Options{AppKey: simKey, AppSecret: simSecret})}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		h := s.hook
		s.mu.Unlock()
		if h != nil {
			h(r)
		}
		s.sim.ServeHTTP(w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *simServer) setHook(h func(*http.Request)) {
	s.mu.Lock()
	s.hook = h
	s.mu.Unlock()
}

func (s *simServer) backends(t testing.TB) map[models.Protocol]thingspace.Backend {
	hc := thingspace.NewHTTPClient(5 * time.Second)
	rest, err := thingspace.NewREST(thingspace.RESTConfig{BaseURL: s.srv.URL, AppKey: simKey, AppSecret: simSecret, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	soap, err := thingspace.NewSOAP(thingspace.SOAPConfig{Endpoint: s.srv.URL + "/api/v2/SessionService.svc", HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	return map[models.Protocol]thingspace.Backend{models.ProtocolREST: rest, models.ProtocolSOAP: soap}
}

func (s *simServer) user(t testing.TB, name string) tsim.Counters {
	t.Helper()
	c, ok := s.sim.User(name)
	if !ok {
		t.Fatalf("simulator has no user %s", name)
	}
	return c
}

type env struct {
	t     testing.TB
	db    *store.DB
	svc   *Service
	sim   *simServer
	clock *tsim.Clock
	kr    *secret.Keyring
	logs  *testutil.Buffer
	admin *models.Principal
}

type envOpt struct {
	threshold int
	db        *store.DB
	sim       *simServer
	clock     *tsim.Clock
	kr        *secret.Keyring
}

func testKeyring(t testing.TB) *secret.Keyring {
	kr, err := secret.ParseKeys(secret.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func newEnv(t testing.TB, o envOpt) *env {
	t.Helper()
	if o.db == nil {
		o.db = testdb.New(t)
	}
	if o.sim == nil {
		o.sim = newSim(t)
	}
	if o.clock == nil {
		o.clock = tsim.NewClock(time.Now())
	}
	if o.kr == nil {
		o.kr = testKeyring(t)
	}
	logs := &testutil.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc := New(o.db, log, metrics.New())
	svc.Now = o.clock.Now
	svc.Keyring = o.kr
	u, err := NewUpstream(UpstreamConfig{Backends: o.sim.backends(t), QuarantineThreshold: o.threshold,
		HTTPTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	svc.Upstream = u
	return &env{t: t, db: o.db, svc: svc, sim: o.sim, clock: o.clock, kr: o.kr, logs: logs,
		admin: &models.Principal{UserID: 1, Actor: "1", Name: "Ada Admin", Grants: []models.Grant{{Role: models.RoleAdmin}}}}
}

// second is another portal instance on the same database and simulator.
func (e *env) second(db *store.DB) *env {
	return newEnv(e.t, envOpt{threshold: e.svc.Upstream.Threshold(), db: db, sim: e.sim, clock: e.clock, kr: e.kr})
}

// seed creates department slug with a credential for user (password pw
// both in the portal and upstream).
func (e *env) seed(slug, user string, proto models.Protocol) {
	e.t.Helper()
	e.seedDept(slug, proto, false)
	e.sim.sim.SetUser(user, goodPW)
	if err := e.svc.SetCredential(context.Background(), e.admin, meta, slug, user, goodPW, false); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) seedDept(slug string, proto models.Protocol, reveal bool) {
	e.t.Helper()
	if _, err := e.svc.CreateDepartment(context.Background(), e.admin, meta,
		models.Department{Slug: slug, Name: "Dept " + slug, Protocol: proto, RevealAllowed: reveal, ScheduleEnabled: true}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) row(slug string) store.CredentialRow {
	e.t.Helper()
	r, err := e.db.Credential(context.Background(), nil, slug, false)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// stored decrypts the stored password of slug.
func (e *env) stored(slug string) string {
	e.t.Helper()
	r := e.row(slug)
	pw, err := e.svc.openCredential(&r)
	if err != nil {
		e.t.Fatal(err)
	}
	return pw.Reveal()
}

// events lists the audit codes of a department, oldest first.
func (e *env) events(slug string) []string {
	e.t.Helper()
	rows, err := e.db.Pool.Query(context.Background(), "SELECT code FROM audit_events WHERE department = $1 ORDER BY id", slug)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// only keeps the codes with prefix.
func only(codes []string, prefix string) []string {
	var out []string
	for _, c := range codes {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// noLeak fails if any secret appears in the audit trail or the logs.
func (e *env) noLeak(secrets ...string) {
	e.t.Helper()
	var trail strings.Builder
	rows, err := e.db.Pool.Query(context.Background(), "SELECT detail::text || target || actor_name FROM audit_events")
	if err != nil {
		e.t.Fatal(err)
	}
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		trail.WriteString(s)
	}
	rows.Close()
	var runs strings.Builder
	rows, err = e.db.Pool.Query(context.Background(), "SELECT detail || upstream_code FROM rotation_runs")
	if err != nil {
		e.t.Fatal(err)
	}
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		runs.WriteString(s)
	}
	rows.Close()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if strings.Contains(trail.String(), s) || strings.Contains(e.logs.String(), s) || strings.Contains(runs.String(), s) {
			e.t.Errorf("a secret leaked into the audit trail, the runs or the logs")
		}
	}
}

func wantKind(t testing.TB, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("got %v, want %v", err, kind)
	}
	if _, ok := models.SafeMessage(err); !ok {
		t.Fatalf("error %v has no safe message", err)
	}
}
