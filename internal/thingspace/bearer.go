package thingspace

import (
	"context"
	"sync"
	"time"
)

// bearerCache holds one app key's OAuth bearer token until shortly before it
// expires and lets only one fetch run at a time; callers that arrive during a
// fetch wait for its result instead of starting their own.
type bearerCache struct {
	fetch func(ctx context.Context) (token string, ttl time.Duration, err *Error)
	now   func() time.Time

	mu      sync.Mutex
	token   string
	expires time.Time
	flight  *bearerFlight
}

type bearerFlight struct {
	done  chan struct{}
	token string
	err   *Error
}

// refreshMargin is how long before expiry a token is no longer handed out:
// a minute, or a tenth of a short lifetime, so that a request never leaves
// with a token that dies on the way.
func refreshMargin(ttl time.Duration) time.Duration {
	return min(time.Minute, ttl/10)
}

func (b *bearerCache) get(ctx context.Context) (string, *Error) {
	b.mu.Lock()
	if b.token != "" && b.now().Before(b.expires) {
		t := b.token
		b.mu.Unlock()
		return t, nil
	}
	f := b.flight
	if f == nil {
		f = &bearerFlight{done: make(chan struct{})}
		b.flight = f
		b.mu.Unlock()
		// The fetch serves every waiter, so one caller's cancellation must
		// not fail it; the HTTP client's timeout bounds it.
		tok, ttl, err := b.fetch(context.WithoutCancel(ctx))
		b.mu.Lock()
		f.token, f.err = tok, err
		if err == nil && ttl > 0 {
			b.token, b.expires = tok, b.now().Add(ttl-refreshMargin(ttl))
		}
		b.flight = nil
		close(f.done)
		b.mu.Unlock()
		return tok, err
	}
	b.mu.Unlock()
	select {
	case <-f.done:
		return f.token, f.err
	case <-ctx.Done():
		return "", &Error{Class: ClassTransient, Op: opToken, Err: ctx.Err(), notSent: true}
	}
}

// invalidate forgets token if it is still the cached one (a concurrent
// caller may already have replaced it).
func (b *bearerCache) invalidate(token string) {
	b.mu.Lock()
	if b.token == token {
		b.token = ""
	}
	b.mu.Unlock()
}
