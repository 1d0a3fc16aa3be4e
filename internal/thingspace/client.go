package thingspace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
)

// Credential names one UWS account to the session cache and the login door:
// Key is the account key, Username the UWS username. It carries no
// password: the door reads the account's current password at the moment it
// logs in, never one carried in from before.
type Credential struct {
	Key      string
	Username string
}

// LoginDoor makes the one login that fills key's shared session: it takes
// the account lock, looks in the cache again (another process may have
// logged in), drops stale (the session just seen to expire, "" if none),
// reserves the attempt with the lockout guard, logs in with the account's
// current password, settles the attempt and caches the session. It is the
// only way a Client logs in (internal/upstream provides it).
type LoginDoor func(ctx context.Context, cred Credential, stale string) (session string, err error)

// ClientConfig holds a Client's dependencies.
type ClientConfig struct {
	Backend Backend
	Cache   SessionCache // read without the door; the door fills it
	Login   LoginDoor    // required: there is no safe default
	Logger  *slog.Logger // default: discard
}

// Client uses a Backend the way ThingSpace wants: it reuses the cached
// session, logs in (through the door) only when none is cached or the
// platform says the session expired, and then retries the operation once.
// Logins for one key are serialised within the process so concurrent
// operations share one login; the door serialises them across processes.
type Client struct {
	backend Backend
	cache   SessionCache
	door    LoginDoor
	log     *slog.Logger

	mu    sync.Mutex
	locks map[string]chan struct{}
}

// NewClient returns a Client over cfg.Backend.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.Backend == nil || cfg.Cache == nil {
		return nil, errors.New("thingspace: client needs a backend and a session cache")
	}
	if cfg.Login == nil {
		return nil, errors.New("thingspace: client needs a login door")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Client{backend: cfg.Backend, cache: cfg.Cache, door: cfg.Login, log: cfg.Logger, locks: make(map[string]chan struct{})}, nil
}

// WithSession runs fn with key's session, logging in first if none is
// cached. If fn fails with ClassSessionExpired, one new login is made
// (unless another caller already made one) and fn runs once more; a second
// expiry is returned as is.
func (c *Client) WithSession(ctx context.Context, cred Credential, fn func(ctx context.Context, session string) error) error {
	tok, err := c.session(ctx, cred, "")
	if err != nil {
		return err
	}
	err = fn(ctx, tok)
	if ClassOf(err) != ClassSessionExpired {
		return err
	}
	tok, err = c.session(ctx, cred, tok)
	if err != nil {
		return err
	}
	err = fn(ctx, tok)
	if ClassOf(err) == ClassSessionExpired {
		// Do not log in a third time now; the next operation starts afresh.
		if derr := c.cache.Drop(ctx, cred.Key, tok); derr != nil {
			c.log.WarnContext(ctx, "thingspace: drop session", "key", cred.Key, "err", derr)
		}
	}
	return err
}

// Call makes an authenticated M2M call with key's session (see WithSession).
func (c *Client) Call(ctx context.Context, cred Credential, method, path string, body, out any) error {
	return c.WithSession(ctx, cred, func(ctx context.Context, session string) error {
		return c.backend.Call(ctx, session, method, path, body, out)
	})
}

// Login makes sure key has a session, logging in (through the door) only if
// none is cached.
func (c *Client) Login(ctx context.Context, cred Credential) error {
	_, err := c.session(ctx, cred, "")
	return err
}

// session returns key's cached session unless it is stale (the token that
// just expired), in which case the door makes a new login. A session in
// the cache needs no lock; a miss takes the key's lock and looks again, so
// concurrent callers of this process share one login.
func (c *Client) session(ctx context.Context, cred Credential, stale string) (string, error) {
	if tok, ok, err := c.cache.Get(ctx, cred.Key); err == nil && ok && tok != "" && tok != stale {
		return tok, nil
	}
	unlock, err := c.lock(ctx, cred.Key)
	if err != nil {
		return "", err
	}
	defer unlock()
	tok, ok, err := c.cache.Get(ctx, cred.Key)
	if err != nil {
		return "", fmt.Errorf("thingspace session %s: read session cache: %w", cred.Key, err)
	}
	if ok && tok != "" && tok != stale {
		return tok, nil
	}
	tok, err = c.door(ctx, cred, stale)
	if err != nil {
		return "", fmt.Errorf("thingspace login %s: %w", cred.Key, err)
	}
	return tok, nil
}

// lock takes key's login lock, honouring ctx.
func (c *Client) lock(ctx context.Context, key string) (func(), error) {
	c.mu.Lock()
	ch, ok := c.locks[key]
	if !ok {
		ch = make(chan struct{}, 1)
		c.locks[key] = ch
	}
	c.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, &Error{Class: ClassTransient, Op: opLogin, Err: fmt.Errorf("wait for login of %s: %w", key, ctx.Err()), notSent: true}
	}
}
