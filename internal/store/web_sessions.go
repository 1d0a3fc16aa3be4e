package store

import (
	"context"
	"errors"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5"
)

// SessionStore keeps the web's sessions server-side in Postgres (scs's
// pgx store, which also deletes expired rows), so they survive a restart
// and work across instances. A session row expires idle after its last
// write: the portal moves its idle clock (a write) at most once a minute
// and ends idle sessions itself, so scs need not rewrite every session on
// every request to move the row's expiry.
func (db *DB) SessionStore(idle time.Duration) scs.Store {
	return &sessionStore{PostgresStore: pgxstore.NewWithCleanupInterval(db.Pool, 10*time.Minute), db: db, idle: idle}
}

type sessionStore struct {
	*pgxstore.PostgresStore
	db   *DB
	idle time.Duration
}

var _ scs.CtxStore = (*sessionStore)(nil)

// FindCtx implements scs.CtxStore.
func (st *sessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	var b []byte
	err := st.db.Pool.QueryRow(ctx, "SELECT data FROM sessions WHERE token = $1 AND current_timestamp < expiry", token).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	return b, err == nil, err
}

// CommitCtx implements scs.CtxStore: the row expires at scs's deadline
// or idle after this write, whichever is first.
func (st *sessionStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	_, err := st.db.Pool.Exec(ctx, `INSERT INTO sessions (token, data, expiry)
	  VALUES ($1, $2, LEAST($3, current_timestamp + make_interval(secs => $4)))
	  ON CONFLICT (token) DO UPDATE SET data = EXCLUDED.data, expiry = EXCLUDED.expiry`, token, b, expiry, st.idle.Seconds())
	return err
}

// DeleteCtx implements scs.CtxStore.
func (st *sessionStore) DeleteCtx(ctx context.Context, token string) error {
	_, err := st.db.Pool.Exec(ctx, "DELETE FROM sessions WHERE token = $1", token)
	return err
}
