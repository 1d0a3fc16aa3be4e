package thingspace

import (
	"context"
	"fmt"
	"sync"
)

// LockoutGuard counts consecutive failed logins per account and refuses
// further attempts well before ThingSpace's own lock (5). Client reserves
// a lease before every login attempt and settles it with the attempt's
// result. An implementation shared by several portal instances must make
// reservations exclusive (one attempt in flight per account), must let a
// lease outlive the longest attempt, and must fail closed: a Reserve that
// cannot read its state returns an error.
type LockoutGuard interface {
	// Reserve returns the lease of one login attempt for key, or an error
	// wrapping ErrGuardRefused.
	Reserve(ctx context.Context, key string) (Lease, error)
}

// Lease is one reserved login attempt.
type Lease interface {
	// Settle ends the lease with the attempt's result: nil is a success
	// (the count resets); an error is counted unless it provably never
	// reached the login service (see MayCountUpstream).
	Settle(ctx context.Context, err error) error
}

// Guard limits: at most MaxGuardLimit consecutive failures, so one attempt
// always stays between the guard and ThingSpace's lock at 5.
const (
	DefaultGuardLimit = 2
	MaxGuardLimit     = 4
)

// MemoryGuard is a LockoutGuard for one process (tests, the CLI, a single
// instance). It refuses once a key has limit consecutive failures, until a
// success is recorded or Clear is called.
type MemoryGuard struct {
	limit    int
	mu       sync.Mutex
	failures map[string]int
}

var _ LockoutGuard = (*MemoryGuard)(nil)

// NewMemoryGuard returns a guard refusing after limit consecutive failures;
// limit must be between 1 and MaxGuardLimit.
func NewMemoryGuard(limit int) (*MemoryGuard, error) {
	if limit < 1 || limit > MaxGuardLimit {
		return nil, fmt.Errorf("thingspace: guard limit %d outside 1..%d (ThingSpace locks at 5)", limit, MaxGuardLimit)
	}
	return &MemoryGuard{limit: limit, failures: make(map[string]int)}, nil
}

// Reserve implements LockoutGuard.
func (g *MemoryGuard) Reserve(_ context.Context, key string) (Lease, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if n := g.failures[key]; n >= g.limit {
		return nil, fmt.Errorf("credential %q has %d consecutive failed logins (limit %d): %w", key, n, g.limit, ErrGuardRefused)
	}
	return memoryLease{g: g, key: key}, nil
}

type memoryLease struct {
	g   *MemoryGuard
	key string
}

// Settle implements Lease.
func (l memoryLease) Settle(_ context.Context, err error) error {
	l.g.mu.Lock()
	defer l.g.mu.Unlock()
	switch {
	case err == nil:
		delete(l.g.failures, l.key)
	case MayCountUpstream(err):
		l.g.failures[l.key]++
	}
	return nil
}

// Failures returns the current consecutive failure count of key.
func (g *MemoryGuard) Failures(key string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.failures[key]
}

// Clear forgets key's failures (an administrator fixed the credential).
func (g *MemoryGuard) Clear(key string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.failures, key)
}
