package service

import (
	"context"
	"fmt"

	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/thingspace"
)

// pgSessionCache shares ThingSpace session tokens between portal instances
// through Postgres, sealed with the keyring and bound to the credential's
// row, so each credential logs in once for all instances.
type pgSessionCache struct{ s *Service }

var _ thingspace.SessionCache = (*pgSessionCache)(nil)

// sessionLockSpace is the first key of the advisory locks that make one
// login at a time per credential across instances ("uwsp").
const sessionLockSpace = 0x75777370

func sessionAAD(credID int64) []byte { return secret.AAD("upstream_session", credID) }

// Get implements thingspace.SessionCache. A token that no longer opens
// (key dropped, row tampered with) is a miss: logging in again is cheap.
func (c *pgSessionCache) Get(ctx context.Context, key string) (string, bool, error) {
	id, err := c.s.DB.CredentialID(ctx, key)
	if err != nil {
		return "", false, err
	}
	row, ok, err := c.s.DB.Session(ctx, nil, id, false)
	if err != nil || !ok {
		return "", false, err
	}
	tok, err := c.s.Keyring.Open(row.KeyID, row.Ciphertext, sessionAAD(id))
	if err != nil {
		c.s.Log.Warn("session cache: cached session does not open; logging in again", "department", key, "err", err)
		return "", false, nil
	}
	return string(tok), true, nil
}

// Put implements thingspace.SessionCache.
func (c *pgSessionCache) Put(ctx context.Context, key, token string) error {
	id, err := c.s.DB.CredentialID(ctx, key)
	if err != nil {
		return err
	}
	keyID, ct, err := c.s.Keyring.Seal([]byte(token), sessionAAD(id))
	if err != nil {
		return err
	}
	return c.s.DB.PutSession(ctx, store.SealedSession{CredentialID: id, Ciphertext: ct, KeyID: keyID})
}

// Drop implements thingspace.SessionCache: compare-and-delete under a row
// lock, so a token another instance just stored survives.
func (c *pgSessionCache) Drop(ctx context.Context, key, token string) error {
	id, err := c.s.DB.CredentialID(ctx, key)
	if err != nil {
		return err
	}
	return c.s.DB.WithTx(ctx, func(tx *store.Tx) error {
		row, ok, err := c.s.DB.Session(ctx, tx, id, true)
		if err != nil || !ok {
			return err
		}
		if token != "" {
			cur, err := c.s.Keyring.Open(row.KeyID, row.Ciphertext, sessionAAD(id))
			if err == nil && string(cur) != token {
				return nil
			}
		}
		return c.s.DB.DeleteSession(ctx, tx, id)
	})
}

// singleFlight holds credential id's session advisory lock (on a
// connection of its own, so that losing the connection releases it) while
// fn runs: an instance that finds no session waits for the one logging in
// and then reuses its session instead of logging in too.
func (s *Service) singleFlight(ctx context.Context, credID int64, fn func() error) error {
	conn, err := s.DB.Pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("session lock: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1, $2)", int32(sessionLockSpace), int32(credID)); err != nil {
		return fmt.Errorf("session lock: %w", err)
	}
	defer func() {
		// A lost connection has released the lock already.
		if _, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1, $2)", int32(sessionLockSpace), int32(credID)); err != nil {
			conn.Conn().Close(context.Background())
		}
	}()
	return fn()
}

// ensureSession makes sure the credential has a cached session, logging
// in (through the guard) only if no instance holds one.
func (s *Service) ensureSession(ctx context.Context, c *thingspace.Client, credID int64, cred thingspace.Credential) error {
	return s.singleFlight(ctx, credID, func() error { return c.Login(ctx, cred) })
}
