package thingspace

import (
	"context"
	"fmt"
	"sync"
)

// LockoutGuard counts consecutive failed logins per credential and refuses
// further attempts well before ThingSpace's own lock (5). Client asks Allow
// before every login attempt and reports every attempt that may have counted
// upstream through Record. An implementation shared by several portal
// instances must make Allow and Record atomic against each other (for
// example a row lock), and must fail closed: an Allow that cannot read its
// state returns an error.
type LockoutGuard interface {
	// Allow returns nil if one more login attempt for key may be made, or an
	// error wrapping ErrGuardRefused.
	Allow(ctx context.Context, key string) error
	// Record reports the outcome of an attempt: ok resets the count, a
	// failure (code is the upstream code or class name) increments it.
	Record(ctx context.Context, key string, ok bool, code string) error
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

// Allow implements LockoutGuard.
func (g *MemoryGuard) Allow(_ context.Context, key string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if n := g.failures[key]; n >= g.limit {
		return fmt.Errorf("credential %q has %d consecutive failed logins (limit %d): %w", key, n, g.limit, ErrGuardRefused)
	}
	return nil
}

// Record implements LockoutGuard.
func (g *MemoryGuard) Record(_ context.Context, key string, ok bool, _ string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if ok {
		delete(g.failures, key)
	} else {
		g.failures[key]++
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
