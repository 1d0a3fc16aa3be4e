package store

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5"

	"github.com/uwsportal/uwsportal/models"
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

// FindCtx implements scs.CtxStore. A session read ahead by SessionAndUser
// in this request is taken from ctx, once.
func (st *sessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	if pre, ok := ctx.Value(prefetchKey{}).(*sessionPrefetch); ok && pre.token == token && pre.taken.CompareAndSwap(false, true) {
		return pre.data, pre.data != nil, nil
	}
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

// sessionPrefetch is a session row read ahead of scs's Load, in the query
// that also read the person.
type sessionPrefetch struct {
	token string
	data  []byte // nil: no such session, or expired
	taken atomic.Bool
}

type prefetchKey struct{}

// sessionUserQuery reads a session and, in the same round trip, a user
// with their grants: the first query of every signed-in request. One row
// comes back whether or not either exists.
const sessionUserQuery = `SELECT s.data, p.id, p.issuer, p.name, p.email, p.disabled, p.roles, p.depts
  FROM (VALUES (1)) AS one
  LEFT JOIN sessions s ON s.token = $1 AND current_timestamp < s.expiry
  LEFT JOIN LATERAL (` + principalSelect + ` WHERE u.id = $2 GROUP BY u.id) p ON true`

// SessionAndUser reads the session token names and, in the same round
// trip, user uid as SessionUser does (found false: no such user, or uid
// 0). The session is read afresh, never cached: the returned context
// carries it to the session store's FindCtx, so the session manager's
// Load that follows in this request makes no round trip of its own.
func (db *DB) SessionAndUser(ctx context.Context, token string, uid int64) (context.Context, models.User, bool, error) {
	var data []byte
	var id *int64
	var issuer, name, email *string
	var disabled *bool
	var roles, depts []string
	err := db.Pool.QueryRow(ctx, sessionUserQuery, token, uid).Scan(&data, &id, &issuer, &name, &email, &disabled, &roles, &depts)
	if err != nil {
		return ctx, models.User{}, false, fmt.Errorf("read session: %w", err)
	}
	ctx = context.WithValue(ctx, prefetchKey{}, &sessionPrefetch{token: token, data: data})
	if id == nil {
		return ctx, models.User{}, false, nil
	}
	u := models.User{ID: *id, Issuer: *issuer, Name: *name, Email: *email, Disabled: *disabled, Grants: grantsOf(roles, depts)}
	return ctx, u, true, nil
}
