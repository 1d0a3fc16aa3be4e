// Package upstream is the portal's one way to ThingSpace: the backends per
// protocol, the lockout guard every login goes through, and the session
// cache shared by every instance. The guard, the account lock and the
// cache are keyed by the upstream account (the UWS username), never by
// department. See docs/design.md, "The lockout guard".
package upstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/uwsportal/uwsportal/internal/config"
	"github.com/uwsportal/uwsportal/internal/metrics"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/models"
)

// Config says how the portal reaches ThingSpace.
type Config struct {
	// Backends per protocol; a protocol without one is "not configured".
	Backends map[models.Protocol]thingspace.Backend
	// QuarantineThreshold: consecutive failed logins that quarantine a
	// credential (default 2, at most HardFailureCap).
	QuarantineThreshold int
	// HTTPTimeout bounds one upstream request (default
	// thingspace.DefaultTimeout); the timeouts below derive from it.
	HTTPTimeout time.Duration
	// StuckAfter is how long a rotation state may last before recovery
	// looks at it (default 2×HTTPTimeout). Recovery still skips a rotation
	// whose owner holds the account lock.
	StuckAfter time.Duration
	// LoginLease bounds the one login attempt in flight per account
	// (default 5×HTTPTimeout: longer than the longest login, two bearer
	// fetches and two sends). A lease left by a dead process expires and
	// its attempt is counted as failed.
	LoginLease time.Duration
	// RotationDeadline bounds one rotation from its start to its recorded
	// end (default 3×HTTPTimeout + 90 s: a login, the reset, the
	// verification, and time to store what arrived). Shutdown waits this
	// long for a rotation in flight rather than close the database under
	// a password ThingSpace will not say again.
	RotationDeadline time.Duration
}

// ConfigFrom builds the REST backend (when THINGSPACE_APP_KEY and
// THINGSPACE_APP_SECRET are set) and the SOAP backend from the
// configuration.
func ConfigFrom(cfg *config.Config, version string) (Config, error) {
	hc := thingspace.NewHTTPClient(0)
	backends := map[models.Protocol]thingspace.Backend{}
	if cfg.ThingSpaceAppKey != "" {
		rest, err := thingspace.NewREST(thingspace.RESTConfig{BaseURL: cfg.ThingSpaceURL, AppKey: cfg.ThingSpaceAppKey,
			AppSecret: secret.Secret(cfg.ThingSpaceAppSecret), HTTPClient: hc, Version: version})
		if err != nil {
			return Config{}, fmt.Errorf("THINGSPACE_URL: %w", err)
		}
		backends[models.ProtocolREST] = rest
	}
	soap, err := thingspace.NewSOAP(thingspace.SOAPConfig{Endpoint: cfg.ThingSpaceSOAPURL, HTTPClient: hc, Version: version})
	if err != nil {
		return Config{}, fmt.Errorf("THINGSPACE_SOAP_URL: %w", err)
	}
	backends[models.ProtocolSOAP] = soap
	return Config{Backends: backends, QuarantineThreshold: cfg.QuarantineThreshold}, nil
}

// Deps are what Service is built from.
type Deps struct {
	DB      *store.DB
	Keys    *secret.Keyring
	Log     *slog.Logger
	Metrics *metrics.Metrics // may be nil
	Now     func() time.Time
}

// Service reaches ThingSpace for the use cases.
type Service struct {
	cfg      Config
	db       *store.DB
	keys     *secret.Keyring
	log      *slog.Logger
	metrics  *metrics.Metrics
	now      func() time.Time
	rule     Rule
	guard    *Guard
	sessions *Sessions
	clients  map[models.Protocol]*thingspace.Client
}

// New validates cfg, fills in its defaults and builds one client per
// protocol over the shared guard and session cache.
func New(cfg Config, d Deps) (*Service, error) {
	if cfg.QuarantineThreshold == 0 {
		cfg.QuarantineThreshold = DefaultThreshold
	}
	if cfg.QuarantineThreshold < 1 || cfg.QuarantineThreshold > HardFailureCap {
		return nil, fmt.Errorf("quarantine threshold %d outside 1..%d (ThingSpace locks at 5)", cfg.QuarantineThreshold, HardFailureCap)
	}
	if cfg.HTTPTimeout <= 0 {
		cfg.HTTPTimeout = thingspace.DefaultTimeout
	}
	if cfg.StuckAfter <= 0 {
		cfg.StuckAfter = 2 * cfg.HTTPTimeout
	}
	if cfg.LoginLease <= 0 {
		cfg.LoginLease = 5 * cfg.HTTPTimeout
	}
	if cfg.RotationDeadline <= 0 {
		cfg.RotationDeadline = 3*cfg.HTTPTimeout + 90*time.Second
	}
	if d.DB == nil || d.Keys == nil || d.Log == nil || d.Now == nil {
		return nil, fmt.Errorf("upstream: database, keyring, logger and clock are required")
	}
	s := &Service{cfg: cfg, db: d.DB, keys: d.Keys, log: d.Log, metrics: d.Metrics, now: d.Now,
		rule: Rule{Threshold: cfg.QuarantineThreshold}, clients: map[models.Protocol]*thingspace.Client{}}
	s.guard = &Guard{s: s}
	s.sessions = &Sessions{db: d.DB, keys: d.Keys, log: d.Log}
	for proto, b := range cfg.Backends {
		c, err := thingspace.NewClient(thingspace.ClientConfig{Backend: b, Cache: s.sessions, Login: s.door, Logger: d.Log})
		if err != nil {
			return nil, fmt.Errorf("upstream %s: %w", proto, err)
		}
		s.clients[proto] = c
	}
	return s, nil
}

// Rule is the lockout rule in force.
func (s *Service) Rule() Rule { return s.rule }

// StuckAfter is how long a rotation state may last before recovery looks.
func (s *Service) StuckAfter() time.Duration { return s.cfg.StuckAfter }

// Guard is the lockout guard.
func (s *Service) Guard() *Guard { return s.guard }

// Sessions is the shared session cache.
func (s *Service) Sessions() *Sessions { return s.sessions }

// backend returns the wire protocol for proto: unexported, so that logins
// and resets go through the door (door.go).
func (s *Service) backend(proto models.Protocol) (thingspace.Backend, error) {
	b, ok := s.cfg.Backends[proto]
	if !ok {
		return nil, models.Errorf(models.ErrUnavailable, "ThingSpace (%s) is not configured on this portal.", proto)
	}
	return b, nil
}

// Configured says why proto cannot be used on this portal, if it cannot.
func (s *Service) Configured(proto models.Protocol) error {
	_, err := s.backend(proto)
	return err
}

// Client returns the session-reusing client for proto.
func (s *Service) Client(proto models.Protocol) (*thingspace.Client, error) {
	c, ok := s.clients[proto]
	if !ok {
		return nil, models.Errorf(models.ErrUnavailable, "ThingSpace (%s) is not configured on this portal.", proto)
	}
	return c, nil
}

// CountLogin counts an upstream login by result (ok, failed, refused).
func (s *Service) countLogin(result string) {
	if s.metrics != nil {
		s.metrics.UpstreamLogins.WithLabelValues(result).Inc()
	}
}

// RefreshQuarantined sets the quarantined-credentials gauge.
func (s *Service) RefreshQuarantined(ctx context.Context) {
	if s.metrics == nil {
		return
	}
	if n, err := s.db.CountQuarantined(ctx); err == nil {
		s.metrics.Quarantined.Set(float64(n))
	}
}

// Code is the code to record for an upstream failure: ThingSpace's code,
// else the failure class.
func Code(err error) string {
	if err == nil {
		return ""
	}
	if c := thingspace.CodeOf(err); c != "" {
		return c
	}
	return thingspace.ClassOf(err).String()
}

// Refused reports whether err is the lockout guard's refusal.
func Refused(err error) bool {
	return errors.Is(err, thingspace.ErrGuardRefused) || thingspace.ClassOf(err) == thingspace.ClassGuardRefused
}

// RotationDeadline bounds one rotation (see Config.RotationDeadline).
func (s *Service) RotationDeadline() time.Duration { return s.cfg.RotationDeadline }

// LoginLease is how long one login attempt may hold an account's lease.
func (s *Service) LoginLease() time.Duration { return s.cfg.LoginLease }
