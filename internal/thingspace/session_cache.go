package thingspace

import (
	"context"
	"sync"
)

// SessionCache keeps one VZ-M2M session token per credential key so that a
// credential logs in once and reuses its session. A shared implementation
// (Postgres, encrypted) lets every portal instance reuse the same session.
type SessionCache interface {
	// Get returns the cached token of key; ok is false when there is none.
	Get(ctx context.Context, key string) (token string, ok bool, err error)
	// Put stores token as key's session, replacing any other.
	Put(ctx context.Context, key, token string) error
	// Drop removes key's session if it is still token (compare-and-delete,
	// so that a token another caller just stored survives); token "" drops
	// whatever is cached.
	Drop(ctx context.Context, key, token string) error
}

// MemorySessionCache is a SessionCache for one process.
type MemorySessionCache struct {
	mu     sync.Mutex
	tokens map[string]string
}

var _ SessionCache = (*MemorySessionCache)(nil)

// NewMemorySessionCache returns an empty cache.
func NewMemorySessionCache() *MemorySessionCache {
	return &MemorySessionCache{tokens: make(map[string]string)}
}

// Get implements SessionCache.
func (m *MemorySessionCache) Get(_ context.Context, key string) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[key]
	return t, ok, nil
}

// Put implements SessionCache.
func (m *MemorySessionCache) Put(_ context.Context, key, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tokens[key] = token
	return nil
}

// Drop implements SessionCache.
func (m *MemorySessionCache) Drop(_ context.Context, key, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.tokens[key]; ok && (token == "" || t == token) {
		delete(m.tokens, key)
	}
	return nil
}
