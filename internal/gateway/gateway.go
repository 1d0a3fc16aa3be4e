// Package gateway lets applications use ThingSpace through the portal
// with revocable, scoped API clients. It speaks ThingSpace's own protocol
// (the OAuth token, the M2M session login and logout, the device paths),
// so an application changes only its base URL and credentials; the
// portal checks the client's operations and the department's account,
// then calls ThingSpace with the department's real bearer and shared
// session through upstream, and passes the answer back unchanged.
//
// The gateway is a door of its own: it accepts only its own bearer tokens
// and session handles (random, stored hashed, bound to their client,
// expiring), never a browser session; every request re-reads its client,
// so a revoke or an expiry cuts off the very next call on every instance.
package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/uwsportal/uwsportal/internal/metrics"
	"github.com/uwsportal/uwsportal/internal/requests"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/upstream"
)

// Lifetimes of what the gateway gives out.
const (
	BearerLifetime = time.Hour        // like ThingSpace's OAuth token
	SessionIdle    = 20 * time.Minute // like ThingSpace's M2M session
	IdempotentKeep = 24 * time.Hour   // an Idempotency-Key's first answer is kept this long
)

// Limits bound what one client may ask of the gateway.
type Limits struct {
	// Burst and PerSecond shape each client's token bucket (shared by
	// every instance through Postgres). Defaults 20 and 10.
	Burst     float64
	PerSecond float64
	// MaxBody bounds a request body (default 256 KiB).
	MaxBody int64
	// MaxConcurrent bounds a client's calls in flight in this instance
	// (default 10; per instance, not across instances).
	MaxConcurrent int
	// DepartmentPerSecond is the default ceiling on the calls per second
	// a department's clients together send to ThingSpace (default 25; an
	// admin may set another per department), shared by every instance.
	DepartmentPerSecond float64
}

func (l Limits) withDefaults() Limits {
	if l.Burst <= 0 {
		l.Burst = 20
	}
	if l.PerSecond <= 0 {
		l.PerSecond = 10
	}
	if l.MaxBody <= 0 {
		l.MaxBody = 256 << 10
	}
	if l.MaxConcurrent <= 0 {
		l.MaxConcurrent = 10
	}
	if l.DepartmentPerSecond <= 0 {
		l.DepartmentPerSecond = 25
	}
	return l
}

// Deps are what Service is built from.
type Deps struct {
	DB       *store.DB
	Upstream *upstream.Service
	Log      *slog.Logger
	Metrics  *metrics.Metrics // may be nil
	Now      func() time.Time
	Limits   Limits

	// Requests records each action sent, follows it to its end and
	// answers the clients' status reads and callbacks.
	Requests *requests.Service
}

// Service is the gateway: API client management and the protocol.
type Service struct {
	db     *store.DB
	up     *upstream.Service
	reqs   *requests.Service
	log    *slog.Logger
	m      *metrics.Metrics
	now    func() time.Time
	limits Limits

	mu       sync.Mutex
	inFlight map[string]int
	swept    time.Time // when this instance last deleted expired rows
}

// New builds the service.
func New(d Deps) *Service {
	return &Service{db: d.DB, up: d.Upstream, reqs: d.Requests, log: d.Log, m: d.Metrics, now: d.Now,
		limits: d.Limits.withDefaults(), inFlight: map[string]int{}}
}

// Expire deletes expired tokens, handles and idempotency keys.
func (s *Service) Expire(ctx context.Context) error {
	return s.db.ExpireGateway(ctx, s.now(), IdempotentKeep)
}

// sweepEvery is how often an instance deletes expired gateway rows (when
// it gives out a token).
const sweepEvery = 10 * time.Minute

func (s *Service) sweep(ctx context.Context) {
	s.mu.Lock()
	due := s.now().Sub(s.swept) >= sweepEvery
	if due {
		s.swept = s.now()
	}
	s.mu.Unlock()
	if due {
		if err := s.Expire(ctx); err != nil {
			s.log.WarnContext(ctx, "gateway: delete expired tokens and keys", "err", err)
		}
	}
}

// randomBytes are n bytes from the system's random source.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand panics rather than return an error)
	return b
}

// newClientID is a client ID: public, but unguessable all the same.
func newClientID() string {
	return "uwsc_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(randomBytes(12))[:20])
}

// newSecret is 32 random bytes as text: a client secret, a bearer token
// or a session handle.
func newSecret() string { return base64.RawURLEncoding.EncodeToString(randomBytes(32)) }

// hash is what is stored of a secret: SHA-256 is enough for 32 random
// bytes (there is nothing to guess, so nothing to slow down).
func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// sameHash compares hashes in constant time.
func sameHash(a, b []byte) bool { return len(a) > 0 && subtle.ConstantTimeCompare(a, b) == 1 }
