package service

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/uwsportal/uwsportal/internal/config"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/models"
)

// UpstreamConfig says how the portal reaches ThingSpace.
type UpstreamConfig struct {
	// Backends per protocol; a protocol without one is "not configured".
	Backends map[models.Protocol]thingspace.Backend
	// QuarantineThreshold: consecutive failed logins that quarantine a
	// credential (default 2, at most thingspace.MaxGuardLimit).
	QuarantineThreshold int
	// HTTPTimeout bounds one upstream request (default
	// thingspace.DefaultTimeout); the timeouts below derive from it.
	HTTPTimeout time.Duration
	// StuckAfter is how long a rotation state may last before recovery
	// takes it over (default 2×HTTPTimeout: by then any request of the
	// rotation's process has ended, one way or the other).
	StuckAfter time.Duration
	// LoginLease bounds the one login attempt in flight per credential
	// (default 2×HTTPTimeout); a lease left by a dead process expires and
	// its attempt is counted as failed.
	LoginLease time.Duration
}

// Upstream is the service's way to ThingSpace: one client per protocol,
// sharing the Postgres lockout guard and session cache.
type Upstream struct {
	cfg UpstreamConfig

	once    sync.Once
	clients map[models.Protocol]*thingspace.Client
	traced  map[models.Protocol]thingspace.Backend
	guard   *pgGuard
	cache   *pgSessionCache
}

// NewUpstream validates cfg and fills in defaults.
func NewUpstream(cfg UpstreamConfig) (*Upstream, error) {
	if cfg.QuarantineThreshold == 0 {
		cfg.QuarantineThreshold = thingspace.DefaultGuardLimit
	}
	if cfg.QuarantineThreshold < 1 || cfg.QuarantineThreshold > thingspace.MaxGuardLimit {
		return nil, fmt.Errorf("quarantine threshold %d outside 1..%d (ThingSpace locks at 5)", cfg.QuarantineThreshold, thingspace.MaxGuardLimit)
	}
	if cfg.HTTPTimeout <= 0 {
		cfg.HTTPTimeout = thingspace.DefaultTimeout
	}
	if cfg.StuckAfter <= 0 {
		cfg.StuckAfter = 2 * cfg.HTTPTimeout
	}
	if cfg.LoginLease <= 0 {
		cfg.LoginLease = 2 * cfg.HTTPTimeout
	}
	return &Upstream{cfg: cfg}, nil
}

// UpstreamFromConfig builds the REST backend (when THINGSPACE_APP_KEY and
// THINGSPACE_APP_SECRET are set) and the SOAP backend from the configuration.
func UpstreamFromConfig(cfg *config.Config, version string) (*Upstream, error) {
	hc := thingspace.NewHTTPClient(0)
	backends := map[models.Protocol]thingspace.Backend{}
	if cfg.ThingSpaceAppKey != "" {
		rest, err := thingspace.NewREST(thingspace.RESTConfig{BaseURL: cfg.ThingSpaceURL, AppKey: cfg.ThingSpaceAppKey,
			AppSecret: secret.Secret(cfg.ThingSpaceAppSecret), HTTPClient: hc, Version: version})
		if err != nil {
			return nil, fmt.Errorf("THINGSPACE_URL: %w", err)
		}
		backends[models.ProtocolREST] = rest
	}
	soap, err := thingspace.NewSOAP(thingspace.SOAPConfig{Endpoint: cfg.ThingSpaceSOAPURL, HTTPClient: hc, Version: version})
	if err != nil {
		return nil, fmt.Errorf("THINGSPACE_SOAP_URL: %w", err)
	}
	backends[models.ProtocolSOAP] = soap
	return NewUpstream(UpstreamConfig{Backends: backends, QuarantineThreshold: cfg.QuarantineThreshold})
}

// Threshold is the quarantine threshold in force.
func (u *Upstream) Threshold() int { return u.cfg.QuarantineThreshold }

// init builds the clients on first use: they need the service's database,
// keyring and logger, which are set after NewUpstream.
func (s *Service) upstream() (*Upstream, error) {
	u := s.Upstream
	if u == nil || s.Keyring == nil {
		return nil, models.Errorf(models.ErrUnavailable, "The credential engine is not configured (ThingSpace and the master key).")
	}
	u.once.Do(func() {
		u.guard = &pgGuard{s: s, threshold: u.cfg.QuarantineThreshold, lease: u.cfg.LoginLease}
		u.cache = &pgSessionCache{s: s}
		u.clients = map[models.Protocol]*thingspace.Client{}
		u.traced = map[models.Protocol]thingspace.Backend{}
		for proto, b := range u.cfg.Backends {
			tb := tracedBackend{Backend: b}
			c, err := thingspace.NewClient(thingspace.ClientConfig{Backend: tb, Cache: u.cache, Guard: u.guard, Logger: s.Log})
			if err != nil {
				panic(err) // only for a nil backend or guard, both set here
			}
			u.clients[proto], u.traced[proto] = c, tb
		}
	})
	return u, nil
}

// client returns the ThingSpace client for a protocol.
func (s *Service) client(proto models.Protocol) (*thingspace.Client, error) {
	u, err := s.upstream()
	if err != nil {
		return nil, err
	}
	c, ok := u.clients[proto]
	if !ok {
		return nil, models.Errorf(models.ErrUnavailable, "ThingSpace (%s) is not configured on this portal.", proto)
	}
	return c, nil
}

// Login purposes recorded with every upstream.login.* event.
const (
	PurposeTest    = "test"
	PurposeRotate  = "rotate"
	PurposeVerify  = "verify"
	PurposeResolve = "resolve"
	PurposeUse     = "use"
)

// upstreamOp is what one use case is doing upstream: who, why, and every
// login attempt the backend made, so that attempts the client did not
// report to the guard (failures that provably did not count upstream) are
// still settled and audited.
type upstreamOp struct {
	p        *models.Principal
	meta     models.RequestMeta
	purpose  string
	protocol models.Protocol

	mu       sync.Mutex
	attempts []*loginAttempt
}

type loginAttempt struct {
	err      error
	recorded bool // the guard's Record was called for it
}

type opKey struct{}

func withOp(ctx context.Context, p *models.Principal, meta models.RequestMeta, purpose string, proto models.Protocol) (context.Context, *upstreamOp) {
	op := &upstreamOp{p: p, meta: meta, purpose: purpose, protocol: proto}
	return context.WithValue(ctx, opKey{}, op), op
}

func opOf(ctx context.Context) *upstreamOp {
	op, _ := ctx.Value(opKey{}).(*upstreamOp)
	return op
}

// claim marks the oldest unrecorded attempt as recorded and returns it.
func (op *upstreamOp) claim() *loginAttempt {
	if op == nil {
		return nil
	}
	op.mu.Lock()
	defer op.mu.Unlock()
	for _, a := range op.attempts {
		if !a.recorded {
			a.recorded = true
			return a
		}
	}
	return nil
}

// unrecorded returns the attempts the guard never heard of.
func (op *upstreamOp) unrecorded() []*loginAttempt {
	op.mu.Lock()
	defer op.mu.Unlock()
	var out []*loginAttempt
	for _, a := range op.attempts {
		if !a.recorded {
			a.recorded = true
			out = append(out, a)
		}
	}
	return out
}

// tracedBackend notes each login attempt in the context's upstreamOp.
type tracedBackend struct{ thingspace.Backend }

func (b tracedBackend) Login(ctx context.Context, username, password string) (string, error) {
	tok, err := b.Backend.Login(ctx, username, password)
	if op := opOf(ctx); op != nil {
		op.mu.Lock()
		op.attempts = append(op.attempts, &loginAttempt{err: err})
		op.mu.Unlock()
	}
	return tok, err
}

// settle finishes the bookkeeping of an upstream operation: a failed login
// the client did not record (it never reached the login service, so it
// did not count upstream) releases the guard's lease and is audited.
func (s *Service) settle(ctx context.Context, op *upstreamOp, slug string) {
	for _, a := range op.unrecorded() {
		if a.err == nil {
			continue // a success is always recorded by the client
		}
		s.Upstream.guard.release(ctx, slug)
		s.auditLogin(ctx, op, slug, models.EvUpstreamLoginFailed, a.err, -1, false)
	}
}

// upstreamCode is the code to record for an upstream failure: ThingSpace's
// code, else the failure class.
func upstreamCode(err error) string {
	if err == nil {
		return ""
	}
	if c := thingspace.CodeOf(err); c != "" {
		return c
	}
	return thingspace.ClassOf(err).String()
}

// guardRefused reports whether err is the lockout guard's refusal.
func guardRefused(err error) bool {
	return errors.Is(err, thingspace.ErrGuardRefused) || thingspace.ClassOf(err) == thingspace.ClassGuardRefused
}
