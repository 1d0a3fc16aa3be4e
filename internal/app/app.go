// Package app is the composition root: the one place that builds the
// portal from its configuration, in order — database, keyring, upstream
// (backends, lockout guard, session cache), the use cases. The web server
// is built from an App in one call (web.New(web.Deps{App: a})). serve,
// every command, the demo, the tests and the benchmarks build through it;
// each part is built whole, nothing sets a field afterwards.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/uwsportal/uwsportal/internal/approvals"
	"github.com/uwsportal/uwsportal/internal/auditlog"
	"github.com/uwsportal/uwsportal/internal/clock"
	"github.com/uwsportal/uwsportal/internal/config"
	"github.com/uwsportal/uwsportal/internal/departments"
	"github.com/uwsportal/uwsportal/internal/devices"
	"github.com/uwsportal/uwsportal/internal/gateway"
	"github.com/uwsportal/uwsportal/internal/identity"
	"github.com/uwsportal/uwsportal/internal/metrics"
	"github.com/uwsportal/uwsportal/internal/netguard"
	"github.com/uwsportal/uwsportal/internal/notify"
	"github.com/uwsportal/uwsportal/internal/notify/channel"
	"github.com/uwsportal/uwsportal/internal/requests"
	"github.com/uwsportal/uwsportal/internal/rotation"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/internal/upstream"
	"github.com/uwsportal/uwsportal/models"
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
	Web       WebParts
	ready     readiness
	// KeySource names where the master keys come from, for messages
	// (empty: UWSPORTAL_MASTER_KEY).
	KeySource string
	// Requests follows every device action to its end (callbacks, polling).
	Requests *requests.Service
}

// Parts are what New builds the portal from. Open fills them from the
// environment; tests and benchmarks give their own (a test database, the
// simulator's backends, a manual clock).
type Parts struct {
	Config *config.Config
	DB     *store.DB
	Keys   *secret.Keyring
	// KeySource names where the master keys come from (see App.KeySource).
	KeySource string
	Upstream  upstream.Config
	Log       *slog.Logger
	Metrics   *metrics.Metrics // may be nil
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

// NewCore builds the secret-free part over an open database, whose clock
// (given when it was opened) is the portal's one clock.
func NewCore(p Parts) *Core {
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	if p.Config == nil {
		p.Config = &config.Config{}
	}
	now := p.DB.Now
	if p.Metrics != nil {
		p.Metrics.WatchDatabase(p.DB.PoolStats, p.DB.OpsStats, now)
	}
	return &Core{Config: p.Config, DB: p.DB, Log: p.Log, Metrics: p.Metrics, Now: now,
		Identity: identity.New(identity.Deps{DB: p.DB, Log: p.Log, Now: now, AdminGroups: p.Config.AdminGroups}),
		Audit:    auditlog.New(p.DB, p.Log, now)}
}

// DBOptions are the store's options for a portal: the system clock, and
// audit writes counted in m (when not nil).
func DBOptions(log *slog.Logger, m *metrics.Metrics, maxConns int32) store.Options {
	o := store.Options{Log: log, MaxConns: maxConns, Now: clock.System}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if m != nil {
		o.AuditSink = auditSink{m: m, log: log}
	}
	return o
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
	guard := outboundGuard(core)
	targets, hc := p.CallbackTargets, (*http.Client)(nil)
	if targets == nil {
		// Client listeners are outbound targets like notification ones:
		// checked when registered, and again at every connection.
		targets, hc = listenerCheck(guard), guard.Client(10*time.Second)
	}
	reqs := requests.New(requests.Deps{DB: core.DB, Keys: p.Keys, Upstream: up, Departments: depts, Log: core.Log, Metrics: core.Metrics,
		Now: core.Now, CallbackURL: core.Config.CallbackURL, Poll: p.Poll, CheckTarget: targets, HTTPClient: hc})
	devs := devices.New(devices.Deps{DB: core.DB, Upstream: up, Departments: depts, Approvals: appr, Requests: reqs, Log: core.Log,
		Metrics: core.Metrics, Now: core.Now})
	gw := gateway.New(gateway.Deps{DB: core.DB, Upstream: up, Requests: reqs, Log: core.Log, Metrics: core.Metrics,
		Now: core.Now, Limits: p.GatewayLimits})
	web, err := newWebParts(core, p.Keys)
	if err != nil {
		return nil, err
	}
	return &App{Core: *core, Keys: p.Keys, Upstream: up, Departments: depts, Rotation: rot, Devices: devs, Gateway: gw,
		Requests: reqs, Approvals: appr, Notify: ntf, Web: web, KeySource: p.KeySource}, nil
}

// newNotify builds the notification service from the configuration.
func newNotify(core *Core, p Parts) *notify.Service {
	cfg := core.Config
	sender := p.Sender
	if sender == nil {
		m := cfg.SMTP
		sender = &channel.Sender{Now: core.Now, Guard: outboundGuard(core),
			SMTP: channel.SMTP{Addr: m.Addr, Username: m.Username, Password: m.Password, From: m.From, TLS: m.TLS}}
	}
	base := ""
	if cfg.BaseURL != nil {
		base = cfg.BaseURL.String()
	}
	return notify.New(notify.Deps{DB: core.DB, Keys: p.Keys, Sender: sender, Log: core.Log, Metrics: core.Metrics, Now: core.Now,
		BaseURL: base, MailEnabled: sender.SMTP.Addr != "", DueDays: cfg.NotifyDueDays})
}

// UpstreamConfig builds the REST backend (when THINGSPACE_APP_KEY and
// THINGSPACE_APP_SECRET are set) and the SOAP backend from the
// configuration, on the portal's clock.
func UpstreamConfig(cfg *config.Config, version string, now func() time.Time) (upstream.Config, error) {
	hc := thingspace.NewHTTPClient(0)
	backends := map[models.Protocol]thingspace.Backend{}
	if cfg.ThingSpaceAppKey != "" {
		rest, err := thingspace.NewREST(thingspace.RESTConfig{BaseURL: cfg.ThingSpaceURL, AppKey: cfg.ThingSpaceAppKey,
			AppSecret: secret.Secret(cfg.ThingSpaceAppSecret), HTTPClient: hc, Version: version, Now: now})
		if err != nil {
			return upstream.Config{}, fmt.Errorf("THINGSPACE_URL: %w", err)
		}
		backends[models.ProtocolREST] = rest
	}
	soap, err := thingspace.NewSOAP(thingspace.SOAPConfig{Endpoint: cfg.ThingSpaceSOAPURL, HTTPClient: hc, Version: version})
	if err != nil {
		return upstream.Config{}, fmt.Errorf("THINGSPACE_SOAP_URL: %w", err)
	}
	backends[models.ProtocolSOAP] = soap
	return upstream.Config{Backends: backends, QuarantineThreshold: cfg.QuarantineThreshold}, nil
}

// listenerCheck refuses a client listener URL that is not https or http,
// or whose host resolves to an address the guard refuses.
func listenerCheck(g *netguard.Guard) func(*url.URL) error {
	return func(u *url.URL) error {
		if err := requests.PublicTarget(u); err != nil {
			return err
		}
		port := u.Port()
		if port == "" {
			port = map[string]string{"https": "443", "http": "80"}[u.Scheme]
		}
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return fmt.Errorf("listener port %q: %w", port, err)
		}
		return g.CheckHost(context.Background(), u.Hostname(), uint16(n))
	}
}

// outboundGuard checks the connections to targets people type: private
// networks only as admins allowed them (read at each connection), never
// the portal's own listeners or public address.
func outboundGuard(core *Core) *netguard.Guard {
	cfg := core.Config
	own := []string{cfg.Addr}
	if cfg.MetricsAddr != "" {
		own = append(own, cfg.MetricsAddr)
	}
	if u := cfg.BaseURL; u != nil && u.Hostname() != "" {
		port := u.Port()
		if port == "" {
			port = map[string]string{"https": "443", "http": "80"}[u.Scheme]
		}
		own = append(own, net.JoinHostPort(u.Hostname(), port))
	}
	return netguard.New(netguard.Options{Own: own, Allowed: func(ctx context.Context) ([]netguard.Network, error) {
		rows, err := core.DB.OutboundNetworks(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]netguard.Network, 0, len(rows))
		for _, r := range rows {
			if n, err := netguard.ParseNetwork(r.Name, r.Network); err == nil {
				out = append(out, n)
			}
		}
		return out, nil
	}})
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
	up, err := UpstreamConfig(cfg, version, clock.System)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, cfg.DatabaseURL, DBOptions(env.Log, env.Metrics, env.MaxConns))
	if err != nil {
		return nil, err
	}
	keys, source, err := LoadKeys(ctx, env, cfg.MasterKeyKMS, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	a, err := New(Parts{Config: cfg, DB: db, Keys: keys, KeySource: source, Upstream: up, Log: env.Log, Metrics: env.Metrics})
	if err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

// OpenCore builds the secret-free part from a database URL.
func OpenCore(ctx context.Context, env Env, cfg *config.Config) (*Core, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL, DBOptions(env.Log, env.Metrics, env.MaxConns))
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
