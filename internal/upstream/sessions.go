package upstream

import (
	"context"
	"log/slog"
	"sync/atomic"

	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/thingspace"
)

// Sessions shares ThingSpace session tokens between portal instances
// through Postgres, one per upstream account, sealed with the keyring and
// bound to the account, so each account logs in once for all instances.
type Sessions struct {
	db   *store.DB
	keys *secret.Keyring
	log  *slog.Logger
}

var _ thingspace.SessionCache = (*Sessions)(nil)

// SessionAAD binds a sealed session to its account.
func SessionAAD(username string) []byte {
	return []byte("upstream_session:" + store.AccountKey(username))
}

// sessionRead is an account's shared session as a caller read it in a
// statement it made anyway, for the first Get of key in its context.
type sessionRead struct {
	key  string
	row  store.SealedSession // Username "": none was cached
	used atomic.Bool
}

type sessionReadKey struct{}

// WithSessionRead lets the first Get of row's account in ctx use row, the
// account's shared session (or its absence) as the caller read it just
// now, instead of reading it again. Only the first: a session that turns
// out stale, and the door's look under the account lock, read the
// database as ever, so it never costs a login.
func WithSessionRead(ctx context.Context, username string, row store.SealedSession) context.Context {
	return context.WithValue(ctx, sessionReadKey{}, &sessionRead{key: store.AccountKey(username), row: row})
}

// Get implements thingspace.SessionCache. A token that no longer opens
// (key dropped, row tampered with) is a miss: logging in again is cheap.
func (c *Sessions) Get(ctx context.Context, key string) (string, bool, error) {
	row, ok, err := c.read(ctx, key)
	if err != nil || !ok {
		return "", false, err
	}
	tok, err := c.keys.Open(row.KeyID, row.Ciphertext, SessionAAD(key))
	if err != nil {
		c.log.Warn("session cache: cached session does not open; logging in again", "account", key, "err", err)
		return "", false, nil
	}
	return string(tok), true, nil
}

// read is key's sealed session: the one read for this context if it is
// the first look, else the database's.
func (c *Sessions) read(ctx context.Context, key string) (store.SealedSession, bool, error) {
	if r, _ := ctx.Value(sessionReadKey{}).(*sessionRead); r != nil && r.key == key && r.used.CompareAndSwap(false, true) {
		return r.row, r.row.Username == key, nil
	}
	return c.db.Session(ctx, nil, key, false)
}

// Put implements thingspace.SessionCache.
func (c *Sessions) Put(ctx context.Context, key, token string) error {
	return c.PutIn(ctx, nil, key, token)
}

// PutIn stores an account's session in tx (nil: alone).
func (c *Sessions) PutIn(ctx context.Context, tx *store.Tx, key, token string) error {
	keyID, ct, err := c.keys.Seal([]byte(token), SessionAAD(key))
	if err != nil {
		return err
	}
	return c.db.PutSession(ctx, tx, store.SealedSession{Username: key, Ciphertext: ct, KeyID: keyID})
}

// Drop implements thingspace.SessionCache: compare-and-delete under a row
// lock, so a token another instance just stored survives.
func (c *Sessions) Drop(ctx context.Context, key, token string) error {
	return c.db.WithTx(ctx, func(tx *store.Tx) error {
		row, ok, err := c.db.Session(ctx, tx, key, true)
		if err != nil || !ok {
			return err
		}
		if token != "" {
			cur, err := c.keys.Open(row.KeyID, row.Ciphertext, SessionAAD(key))
			if err == nil && string(cur) != token {
				return nil
			}
		}
		return c.db.DeleteSession(ctx, tx, key)
	})
}
