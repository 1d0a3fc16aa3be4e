package thingspace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/uwsportal/uwsportal/internal/secret"
)

// Credential is one UWS username and its current password, known to the
// cache and the guard by Key (the department slug).
type Credential struct {
	Key      string
	Username string
	Password secret.Secret
}

// ClientConfig holds a Client's dependencies.
type ClientConfig struct {
	Backend Backend
	Cache   SessionCache // default: a new MemorySessionCache
	Guard   LockoutGuard // required: there is no safe default
	Logger  *slog.Logger // default: discard
	// LoginLock, when set, is taken around every login that fills the
	// cache: a shared cache's implementation makes it one holder for all
	// processes, and the client looks in the cache again once it holds it,
	// so that processes finding no session (or the same expired one) make
	// one login between them.
	LoginLock func(ctx context.Context, key string) (unlock func(), err error)
}

// Client uses a Backend the way ThingSpace wants: it logs in once per
// credential, reuses the session, logs in again only when the platform says
// the session expired (and then retries the operation once), and passes every
// login attempt through the LockoutGuard. Logins for one key are serialised
// within the process so concurrent operations share one login.
type Client struct {
	backend   Backend
	cache     SessionCache
	guard     LockoutGuard
	loginLock func(ctx context.Context, key string) (func(), error)
	log       *slog.Logger

	mu    sync.Mutex
	locks map[string]chan struct{}
}

// NewClient returns a Client over cfg.Backend.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.Backend == nil {
		return nil, errors.New("thingspace: client needs a backend")
	}
	if cfg.Guard == nil {
		return nil, errors.New("thingspace: client needs a lockout guard")
	}
	if cfg.Cache == nil {
		cfg.Cache = NewMemorySessionCache()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Client{backend: cfg.Backend, cache: cfg.Cache, guard: cfg.Guard, log: cfg.Logger,
		loginLock: cfg.LoginLock, locks: make(map[string]chan struct{})}, nil
}

// WithSession runs fn with key's session, logging in first if none is
// cached. If fn fails with ClassSessionExpired, the session is dropped, one
// new login is made (unless another caller already made one) and fn runs
// once more; a second expiry is returned as is.
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

// Login makes sure key has a session, logging in (through the guard) only if
// none is cached.
func (c *Client) Login(ctx context.Context, cred Credential) error {
	_, err := c.session(ctx, cred, "")
	return err
}

// TestLogin logs in with cred through the guard and logs out again, leaving
// the cached session alone: the "test login" button, and the verification of
// a freshly reset or freshly entered password.
func (c *Client) TestLogin(ctx context.Context, cred Credential) error {
	unlock, err := c.lock(ctx, cred.Key)
	if err != nil {
		return err
	}
	tok, err := c.login(ctx, cred)
	unlock()
	if err != nil {
		return err
	}
	if err := c.backend.Logout(ctx, tok); err != nil && ClassOf(err) != ClassSessionExpired {
		// The login worked, which is what was asked; an orphan session
		// expires by itself after 20 minutes.
		c.log.WarnContext(ctx, "thingspace: logout after test login", "key", cred.Key, "err", err)
	}
	return nil
}

// Logout ends key's cached session, if any, and forgets it.
func (c *Client) Logout(ctx context.Context, cred Credential) error {
	unlock, err := c.lock(ctx, cred.Key)
	if err != nil {
		return err
	}
	defer unlock()
	tok, ok, err := c.cache.Get(ctx, cred.Key)
	if err != nil {
		return fmt.Errorf("thingspace logout %s: read session cache: %w", cred.Key, err)
	}
	if !ok {
		return nil
	}
	if err := c.cache.Drop(ctx, cred.Key, tok); err != nil {
		return fmt.Errorf("thingspace logout %s: drop session: %w", cred.Key, err)
	}
	if err := c.backend.Logout(ctx, tok); err != nil && ClassOf(err) != ClassSessionExpired {
		return fmt.Errorf("thingspace logout %s: %w", cred.Key, err)
	}
	return nil
}

// Reset asks ThingSpace for a new password for cred, using cred.Password as
// the old one. The result's NewPassword must be stored durably before
// anything else. A reset refused for an expired session is retried once with
// a new session (it was not applied); any other failure is returned as is,
// never retried. If no reset request could be sent (login refused or
// failed), the outcome is ResetRejected.
func (c *Client) Reset(ctx context.Context, cred Credential) ResetResult {
	var (
		res  ResetResult
		sent bool
	)
	err := c.WithSession(ctx, cred, func(ctx context.Context, session string) error {
		sent = true
		res = c.backend.ResetPassword(ctx, session, cred.Password.Reveal())
		if res.Outcome == ResetRejected {
			return res.Err
		}
		return nil
	})
	switch {
	case !sent || res.Outcome == ResetRejected:
		// err is the login failure or the last refusal (after a retry on an
		// expired session, the second one).
		res = ResetResult{Outcome: ResetRejected, Err: fmt.Errorf("thingspace reset %s: %w", cred.Key, err)}
	case res.Err != nil:
		res.Err = fmt.Errorf("thingspace reset %s: %w", cred.Key, res.Err)
	}
	if res.Err != nil {
		c.log.InfoContext(ctx, "thingspace reset", "key", cred.Key, "outcome", res.Outcome.String(), "class", ClassOf(res.Err).String())
	} else {
		c.log.InfoContext(ctx, "thingspace reset", "key", cred.Key, "outcome", res.Outcome.String())
	}
	return res
}

// session returns key's cached session unless it is stale (the token that
// just expired), in which case it is dropped and a new login made. Holding
// the key's lock makes concurrent callers share one login.
func (c *Client) session(ctx context.Context, cred Credential, stale string) (string, error) {
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
	if c.loginLock != nil {
		release, err := c.loginLock(ctx, cred.Key)
		if err != nil {
			return "", &Error{Class: ClassTransient, Op: opLogin, Err: fmt.Errorf("login lock of %s: %w", cred.Key, err), notSent: true}
		}
		defer release()
		// Another process may have logged in while this one waited.
		if tok, ok, err = c.cache.Get(ctx, cred.Key); err != nil {
			return "", fmt.Errorf("thingspace session %s: read session cache: %w", cred.Key, err)
		}
		if ok && tok != "" && tok != stale {
			return tok, nil
		}
	}
	if ok && stale != "" {
		if err := c.cache.Drop(ctx, cred.Key, stale); err != nil {
			return "", fmt.Errorf("thingspace session %s: drop expired session: %w", cred.Key, err)
		}
	}
	tok, err = c.login(ctx, cred)
	if err != nil {
		return "", err
	}
	if err := c.cache.Put(ctx, cred.Key, tok); err != nil {
		// The session is good for this operation; the next one logs in again,
		// which costs time but no lockout attempt.
		c.log.WarnContext(ctx, "thingspace: cache session", "key", cred.Key, "err", err)
	}
	return tok, nil
}

// login makes one guarded login attempt. The caller holds key's lock.
func (c *Client) login(ctx context.Context, cred Credential) (string, error) {
	lease, err := c.guard.Reserve(ctx, cred.Key)
	if err != nil {
		c.log.WarnContext(ctx, "thingspace login refused by guard", "key", cred.Key, "err", err)
		if !errors.Is(err, ErrGuardRefused) {
			// The guard could not decide (storage down): fail closed.
			err = fmt.Errorf("%w: %w", ErrGuardRefused, err)
		}
		return "", fmt.Errorf("thingspace login %s: %w", cred.Key, err)
	}
	tok, err := c.backend.Login(ctx, cred.Username, cred.Password.Reveal())
	serr := lease.Settle(ctx, err)
	if err == nil {
		if serr != nil {
			// A stale failure count only makes the guard stricter.
			c.log.WarnContext(ctx, "thingspace: record login success", "key", cred.Key, "err", serr)
		}
		c.log.InfoContext(ctx, "thingspace login", "key", cred.Key, "ok", true)
		return tok, nil
	}
	c.log.WarnContext(ctx, "thingspace login", "key", cred.Key, "ok", false,
		"class", ClassOf(err).String(), "code", CodeOf(err), "counted", MayCountUpstream(err))
	err = fmt.Errorf("thingspace login %s: %w", cred.Key, err)
	if serr != nil {
		return "", errors.Join(err, fmt.Errorf("record failed login: %w", serr))
	}
	return "", err
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
