// Package app is the composition root: the one place that builds the
// portal from its configuration, in order — database, keyring, upstream
// (backends, lockout guard, session cache), the use cases. The web server
// is built from an App in one call (web.New(web.Deps{App: a})). serve,
// every command, the demo, the tests and the benchmarks build through it,
// so a missing part is a compile error here, never a nil at run time.
package app

import (
	"context"
	"log/slog"
	"net/url"
	"time"

	"github.com/uwsportal/uwsportal/internal/approvals"
	"github.com/uwsportal/uwsportal/internal/auditlog"
	"github.com/uwsportal/uwsportal/internal/config"
	"github.com/uwsportal/uwsportal/internal/departments"
	"github.com/uwsportal/uwsportal/internal/devices"
	"github.com/uwsportal/uwsportal/internal/gateway"
	"github.com/uwsportal/uwsportal/internal/identity"
	"github.com/uwsportal/uwsportal/internal/metrics"
	"github.com/uwsportal/uwsportal/internal/notify"
	"github.com/uwsportal/uwsportal/internal/notify/channel"
	"github.com/uwsportal/uwsportal/internal/requests"
	"github.com/uwsportal/uwsportal/internal/rotation"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/upstream"
)

// Core is the part of the portal that needs no secret: the database, the
// people, the audit trail. Commands that never touch a credential (migrate,
// audit, create-admin, map-group) build only this.
type Core struct {
	Config   *config.Config
	DB       *store.DB
	Log      *slog.Logger
	Metrics  *metrics.Metrics // nil for commands
	Now      func() time.Time
	Identity *identity.Service
	Audit    *auditlog.Service
}

// App is the whole portal.
type App struct {
	Core
	Keys        *secret.Keyring
	Upstream    *upstream.Service
	Departments *departments.Service
	Rotation    *rotation.Engine
	Devices     *devices.Service
	Gateway     *gateway.Service
	Notify      *notify.Service
	// Approvals is dual control; ExpireDue is for a background loop.
	Approvals *approvals.Service
	// Requests follows every device action to its end (callbacks, polling).
	Requests *requests.Service
}

// Parts are what New builds the portal from. Open fills them from the
// environment; tests and benchmarks give their own (a test database, the
// simulator's backends, a manual clock).
type Parts struct {
	Config   *config.Config
	DB       *store.DB
	Keys     *secret.Keyring
	Upstream upstream.Config
	Log      *slog.Logger
	Metrics  *metrics.Metrics // may be nil
	Now      func() time.Time // default time.Now
	// GatewayLimits bound each API client (zero: the defaults).
	GatewayLimits gateway.Limits
	// Poll bounds the request status reads (zero: the defaults).
	Poll requests.PollOptions
	// CallbackTargets checks a client listener URL (nil: requests.PublicTarget).
	CallbackTargets func(*url.URL) error
	// Sender delivers notifications (nil: built from the configuration;
	// tests give one that trusts their mail server).
	Sender *channel.Sender
}

// NewCore builds the secret-free part over an open database.
func NewCore(p Parts) *Core {
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	if p.Config == nil {
		p.Config = &config.Config{}
	}
	p.DB.Now = p.Now
	if p.Metrics != nil {
		p.DB.AuditSink = auditSink{m: p.Metrics, log: p.Log}
	}
	return &Core{Config: p.Config, DB: p.DB, Log: p.Log, Metrics: p.Metrics, Now: p.Now,
		Identity: identity.New(identity.Deps{DB: p.DB, Log: p.Log, Now: p.Now, AdminGroups: p.Config.AdminGroups}),
		Audit:    auditlog.New(p.DB, p.Log, p.Now)}
}

// New builds the whole portal over an open database.
func New(p Parts) (*App, error) {
	core := NewCore(p)
	up, err := upstream.New(p.Upstream, upstream.Deps{DB: core.DB, Keys: p.Keys, Log: core.Log, Metrics: core.Metrics, Now: core.Now})
	if err != nil {
		return nil, err
	}
	ntf := newNotify(core, p)
	appr := approvals.New(approvals.Deps{DB: core.DB, Log: core.Log, Now: core.Now, Window: core.Config.ApprovalWindow})
	depts := departments.New(departments.Deps{DB: core.DB, Keys: p.Keys, Upstream: up, Approvals: appr, Log: core.Log, Metrics: core.Metrics, Now: core.Now,
		Resealers: []departments.Resealer{ntf, requests.Resealer{DB: core.DB, Keys: p.Keys}}})
	rot := rotation.New(rotation.Deps{DB: core.DB, Keys: p.Keys, Upstream: up, Departments: depts, Approvals: appr, Log: core.Log,
		Metrics: core.Metrics, Now: core.Now})
	reqs := requests.New(requests.Deps{DB: core.DB, Keys: p.Keys, Upstream: up, Departments: depts, Log: core.Log, Metrics: core.Metrics,
		Now: core.Now, CallbackURL: core.Config.CallbackURL, Poll: p.Poll, CheckTarget: p.CallbackTargets})
	devs := devices.New(devices.Deps{DB: core.DB, Keys: p.Keys, Upstream: up, Departments: depts, Approvals: appr, Requests: reqs, Log: core.Log,
		Metrics: core.Metrics, Now: core.Now})
	gw := gateway.New(gateway.Deps{DB: core.DB, Keys: p.Keys, Upstream: up, Departments: depts, Requests: reqs, Log: core.Log, Metrics: core.Metrics,
		Now: core.Now, Limits: p.GatewayLimits})
	return &App{Core: *core, Keys: p.Keys, Upstream: up, Departments: depts, Rotation: rot, Devices: devs, Gateway: gw,
		Requests: reqs, Approvals: appr, Notify: ntf}, nil
}

// newNotify builds the notification service from the configuration.
func newNotify(core *Core, p Parts) *notify.Service {
	cfg := core.Config
	sender := p.Sender
	if sender == nil {
		m := cfg.SMTP
		sender = &channel.Sender{Now: core.Now,
			SMTP: channel.SMTP{Addr: m.Addr, Username: m.Username, Password: m.Password, From: m.From, TLS: m.TLS}}
	}
	base := ""
	if cfg.BaseURL != nil {
		base = cfg.BaseURL.String()
	}
	return notify.New(notify.Deps{DB: core.DB, Keys: p.Keys, Sender: sender, Log: core.Log, Metrics: core.Metrics, Now: core.Now,
		BaseURL: base, MailEnabled: sender.SMTP.Addr != "", DueDays: cfg.NotifyDueDays})
}

// Env is where Open reads its configuration.
type Env struct {
	Getenv   func(string) string
	ReadFile func(string) ([]byte, error) // default secret.ReadKeyFile
	Log      *slog.Logger
	Metrics  *metrics.Metrics
	// MaxConns bounds the database pool (0: the default).
	MaxConns int32
}

// Open builds the whole portal from the environment: configuration,
// database, keyring, ThingSpace backends. Close the database when done.
func Open(ctx context.Context, env Env, cfg *config.Config, version string) (*App, error) {
	if env.ReadFile == nil {
		env.ReadFile = secret.ReadKeyFile // refuses a key file others can read
	}
	keys, err := secret.LoadKeyring(env.Getenv, env.ReadFile)
	if err != nil {
		return nil, err
	}
	up, err := upstream.ConfigFrom(cfg, version)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, cfg.DatabaseURL, store.Options{Log: env.Log, MaxConns: env.MaxConns})
	if err != nil {
		return nil, err
	}
	a, err := New(Parts{Config: cfg, DB: db, Keys: keys, Upstream: up, Log: env.Log, Metrics: env.Metrics})
	if err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

// OpenCore builds the secret-free part from a database URL.
func OpenCore(ctx context.Context, env Env, cfg *config.Config) (*Core, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL, store.Options{Log: env.Log, MaxConns: env.MaxConns})
	if err != nil {
		return nil, err
	}
	return NewCore(Parts{Config: cfg, DB: db, Log: env.Log, Metrics: env.Metrics}), nil
}

type auditSink struct {
	m   *metrics.Metrics
	log *slog.Logger
}

func (a auditSink) AuditWritten() { a.m.AuditWrites.Inc() }

func (a auditSink) AuditFailed(err error) {
	a.m.AuditFailures.Inc()
	a.log.Error("audit write failed; the change it recorded was refused", "err", err)
}
