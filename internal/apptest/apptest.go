// Package apptest builds the whole portal for tests through the
// composition root, over a test database and the ThingSpace simulator,
// with a manual clock and captured logs. It is imported by tests only.
package apptest

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/app"
	"github.com/uwsportal/uwsportal/internal/config"
	"github.com/uwsportal/uwsportal/internal/departments"
	"github.com/uwsportal/uwsportal/internal/gateway"
	"github.com/uwsportal/uwsportal/internal/metrics"
	"github.com/uwsportal/uwsportal/internal/notify/channel"
	"github.com/uwsportal/uwsportal/internal/requests"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/internal/testutil"
	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/internal/tsim"
	"github.com/uwsportal/uwsportal/internal/upstream"
	"github.com/uwsportal/uwsportal/models"
)

// The simulator's app key, and a password that meets ThingSpace's policy.
const (
	SimKey    = "app-key"
	SimSecret = "app-secret"
	GoodPW    = "Corr3ct-Horse!Battery"
)

// Meta is the request of every test action.
var Meta = models.RequestMeta{SourceIP: "192.0.2.1", UserAgent: "test", RequestID: "req-1"}

// Sim is the simulator on loopback, with an optional hook run before each
// request (fault timing: take the database down when the reset arrives).
type Sim struct {
	*tsim.Server
	URL  string
	mu   sync.Mutex
	hook func(*http.Request)
}

// NewSim starts a simulator for the test.
func NewSim(t testing.TB) *Sim {
	s := &Sim{Server: tsim.New(tsim.Options{AppKey: SimKey, AppSecret: SimSecret})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		h := s.hook
		s.mu.Unlock()
		if h != nil {
			h(r)
		}
		s.Server.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// SetHook sets (nil: clears) the hook run before each request.
func (s *Sim) SetHook(h func(*http.Request)) {
	s.mu.Lock()
	s.hook = h
	s.mu.Unlock()
}

// Backends are the REST and SOAP backends pointed at the simulator.
func (s *Sim) Backends(t testing.TB) map[models.Protocol]thingspace.Backend {
	hc := thingspace.NewHTTPClient(5 * time.Second)
	rest, err := thingspace.NewREST(thingspace.RESTConfig{BaseURL: s.URL, AppKey: SimKey, AppSecret: SimSecret, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	soap, err := thingspace.NewSOAP(thingspace.SOAPConfig{Endpoint: s.URL + "/api/v2/SessionService.svc", HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	return map[models.Protocol]thingspace.Backend{models.ProtocolREST: rest, models.ProtocolSOAP: soap}
}

// User is the simulator's view of a user.
func (s *Sim) User(t testing.TB, name string) tsim.Counters {
	t.Helper()
	c, ok := s.Server.User(name)
	if !ok {
		t.Fatalf("simulator has no user %s", name)
	}
	return c
}

// Env is one portal instance over a database and a simulator.
type Env struct {
	T     testing.TB
	DB    *store.DB
	App   *app.App
	Sim   *Sim
	Clock *testutil.Clock
	Keys  *secret.Keyring
	Logs  *testutil.Buffer
	Admin *models.Principal
	opt   Options
}

// Options tune New; zero values take the defaults.
type Options struct {
	Threshold int
	DB        *store.DB
	Sim       *Sim
	Clock     *testutil.Clock
	Keys      *secret.Keyring
	// LoginLease overrides the guard's lease (tests of dead processes).
	LoginLease time.Duration
	// GatewayLimits bound each API client (zero: the defaults).
	GatewayLimits gateway.Limits
	// CallbackURL is UWSPORTAL_CALLBACK_URL ("" : none).
	CallbackURL string
	// Poll bounds request status reads (zero: the defaults).
	Poll requests.PollOptions
	// AnyCallbackTarget lets client listeners be on loopback (httptest).
	AnyCallbackTarget bool
	// Sender delivers notifications (nil: one built from an empty
	// configuration, which cannot send email).
	Sender *channel.Sender
}

// Keyring is a fresh keyring.
func Keyring(t testing.TB) *secret.Keyring {
	kr, err := secret.ParseKeys(secret.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// New builds a portal instance.
func New(t testing.TB, o Options) *Env {
	t.Helper()
	if o.DB == nil {
		o.DB = testdb.New(t)
	}
	if o.Sim == nil {
		o.Sim = NewSim(t)
	}
	// The portal's clock is its database's (given when it was opened):
	// a different clock here would be silently ignored.
	if c, ok := testutil.ClockOf(o.DB); ok && o.Clock != nil && o.Clock != c {
		t.Fatal("apptest: Options.Clock differs from the clock the database was opened with")
	} else if ok {
		o.Clock = c
	} else if o.Clock == nil {
		o.Clock = testutil.ClockFor(t)
	}
	if o.Keys == nil {
		o.Keys = Keyring(t)
	}
	logs := &testutil.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var targets func(*url.URL) error
	if o.AnyCallbackTarget {
		targets = func(*url.URL) error { return nil }
	}
	a, err := app.New(app.Parts{Config: &config.Config{CallbackURL: o.CallbackURL}, Poll: o.Poll, CallbackTargets: targets, DB: o.DB, Keys: o.Keys, Log: log, Metrics: metrics.New(), GatewayLimits: o.GatewayLimits, Sender: o.Sender,
		Upstream: upstream.Config{Backends: o.Sim.Backends(t), QuarantineThreshold: o.Threshold, HTTPTimeout: 5 * time.Second, LoginLease: o.LoginLease}})
	if err != nil {
		t.Fatal(err)
	}
	return &Env{T: t, DB: o.DB, App: a, Sim: o.Sim, Clock: o.Clock, Keys: o.Keys, Logs: logs, opt: o,
		Admin: &models.Principal{UserID: 1, Actor: "1", Name: "Ada Admin", Grants: []models.Grant{{Role: models.RoleAdmin}}}}
}

// Second is another portal instance on db (the same database through its
// own pool) and the same simulator, clock and keys.
func (e *Env) Second(db *store.DB) *Env {
	o := e.opt
	o.DB, o.Sim, o.Clock, o.Keys = db, e.Sim, e.Clock, e.Keys
	return New(e.T, o)
}

// OpenDB opens another pool on the test database behind url.
func OpenDB(t testing.TB, url string) *store.DB {
	c := testutil.ClockFor(t)
	db, err := store.Open(context.Background(), url, store.Options{MaxConns: 10, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	testutil.BindClock(t, db, c)
	return db
}

// Seed creates department slug with a credential for user (password
// GoodPW both in the portal and upstream).
func (e *Env) Seed(slug, user string, proto models.Protocol) {
	e.T.Helper()
	e.SeedDept(slug, proto, false)
	e.Sim.SetUser(user, GoodPW)
	if err := e.SetCredential(slug, user, GoodPW, false); err != nil {
		e.T.Fatal(err)
	}
}

// SeedWrong stores a password that ThingSpace does not accept.
func (e *Env) SeedWrong(slug, user string) {
	e.T.Helper()
	e.SeedDept(slug, models.ProtocolREST, false)
	e.Sim.SetUser(user, "Upstream-Kn0ws!Better")
	if err := e.SetCredential(slug, user, GoodPW, false); err != nil {
		e.T.Fatal(err)
	}
}

// SeedDept creates a department.
func (e *Env) SeedDept(slug string, proto models.Protocol, reveal bool) {
	e.T.Helper()
	if _, err := e.App.Departments.CreateDepartment(context.Background(), e.Admin, Meta,
		models.Department{Slug: slug, Name: "Dept " + slug, Protocol: proto, RevealAllowed: reveal, ScheduleEnabled: true}); err != nil {
		e.T.Fatal(err)
	}
}

// SetCredential enters a credential as the admin.
func (e *Env) SetCredential(slug, user string, pw secret.Secret, verify bool) error {
	return e.App.Departments.SetCredential(context.Background(), e.Admin, Meta,
		departments.CredentialInput{Department: slug, Username: user, Password: pw, Verify: verify})
}

// Row reads slug's credential row.
func (e *Env) Row(slug string) store.CredentialRow {
	e.T.Helper()
	r, err := e.DB.Credential(context.Background(), nil, slug, false)
	if err != nil {
		e.T.Fatal(err)
	}
	return r
}

// Stored decrypts the stored password of slug.
func (e *Env) Stored(slug string) string {
	e.T.Helper()
	r := e.Row(slug)
	pw, err := upstream.Open(e.Keys, &r)
	if err != nil {
		e.T.Fatal(err)
	}
	return pw.Reveal()
}

// CredOf is slug's credential as the thingspace client knows it.
func (e *Env) CredOf(slug string) thingspace.Credential {
	e.T.Helper()
	return upstream.Credential(e.Row(slug).Username)
}

// Events lists the audit codes of a department, oldest first.
func (e *Env) Events(slug string) []string {
	e.T.Helper()
	return e.column("SELECT code FROM audit_events WHERE department = $1 ORDER BY id", slug)
}

func (e *Env) column(q string, args ...any) []string {
	e.T.Helper()
	rows, err := e.DB.Pool.Query(context.Background(), q, args...)
	if err != nil {
		e.T.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			e.T.Fatal(err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		e.T.Fatal(err)
	}
	return out
}

// Only keeps the codes with prefix.
func Only(codes []string, prefix string) []string {
	var out []string
	for _, c := range codes {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// NoLeak fails if any secret appears in the audit trail, the rotation runs
// or the logs.
func (e *Env) NoLeak(secrets ...string) {
	e.T.Helper()
	trail := strings.Join(e.column("SELECT detail::text || target || actor_name FROM audit_events"), "\n")
	runs := strings.Join(e.column("SELECT detail || upstream_code FROM rotation_runs"), "\n")
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if strings.Contains(trail, s) || strings.Contains(e.Logs.String(), s) || strings.Contains(runs, s) {
			e.T.Errorf("a secret leaked into the audit trail, the runs or the logs")
		}
	}
}

// Age makes slug's password d old.
func (e *Env) Age(slug string, d time.Duration) {
	e.T.Helper()
	if _, err := e.DB.Pool.Exec(context.Background(), "UPDATE credentials SET password_changed_at = $1 WHERE id = $2",
		e.Clock.Now().Add(-d), e.Row(slug).ID); err != nil {
		e.T.Fatal(err)
	}
}

// WantKind fails unless err is of kind and carries a safe message.
func WantKind(t testing.TB, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("got %v, want %v", err, kind)
	}
	if _, ok := models.SafeMessage(err); !ok {
		t.Fatalf("error %v has no safe message", err)
	}
}

// WithKeys is another portal instance over the same database, simulator
// and clock with another keyring (a rekey).
func (e *Env) WithKeys(kr *secret.Keyring) *Env {
	o := e.opt
	o.DB, o.Sim, o.Clock, o.Keys = e.DB, e.Sim, e.Clock, kr
	return New(e.T, o)
}
