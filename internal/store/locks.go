package store

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/uwsportal/uwsportal/models"
)

// Advisory lock spaces (the first key of pg_advisory_lock's pair).
const (
	// accountLockSpace: one holder per upstream account — the rotation of
	// its credential, or the one login that fills its session cache ("uwsp").
	accountLockSpace = 0x75777370
	// leaderLockSpace: the scheduler's leader.
	leaderLockSpace = 0x75777371
)

func accountLockKey(username string) int32 {
	h := fnv.New32a()
	h.Write([]byte(AccountKey(username)))
	return int32(h.Sum32())
}

// Lock is a session-level advisory lock held on a connection of its own,
// so that a process that dies or loses the database releases it. The
// connection goes back to the pool when the lock is released.
type Lock struct {
	conn *pgxpool.Conn
	key  [2]int32
}

// Unlock releases the lock; a lost connection has released it already.
func (l *Lock) Unlock() {
	if l == nil || l.conn == nil {
		return
	}
	ctx := context.Background()
	if _, err := l.conn.Exec(ctx, "SELECT pg_advisory_unlock($1, $2)", l.key[0], l.key[1]); err != nil {
		// Closing the connection releases the lock; the pool drops it.
		_ = l.conn.Conn().Close(ctx)
	}
	l.conn.Release()
	l.conn = nil
}

// Alive reports whether the lock's connection still answers.
func (l *Lock) Alive(ctx context.Context) bool {
	return l != nil && l.conn != nil && l.conn.Ping(ctx) == nil
}

// tryAdvisoryLock takes key if it is free (nil, no error, if not). A
// waiter polls rather than blocking on a connection of the pool.
func (db *DB) tryAdvisoryLock(ctx context.Context, key [2]int32) (*Lock, error) {
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, $2)", key[0], key[1]).Scan(&got); err != nil {
		// An answer cut short leaves the lock's state unknown: drop the
		// connection rather than return it to the pool holding anything.
		_ = conn.Conn().Close(context.Background())
		conn.Release()
		return nil, err
	}
	if !got {
		conn.Release()
		return nil, nil
	}
	return &Lock{conn: conn, key: key}, nil
}

// LockAccountSession waits for username's account lock: the rotation of
// its credential and the login that fills its session cache hold it, so
// an instance finding no session waits for the one logging in and reuses
// its session instead of logging in too. A waiter polls with a free
// connection rather than holding one while it waits: a crowd of waiters
// must never take the pool the holder needs to finish.
func (db *DB) LockAccountSession(ctx context.Context, username string) (*Lock, error) {
	key := [2]int32{accountLockSpace, accountLockKey(username)}
	wait := 2 * time.Millisecond
	for {
		l, err := db.tryAdvisoryLock(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("account lock of %s: %w", models.ClipMark(username, 64), err)
		}
		if l != nil {
			return l, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("account lock of %s: %w", models.ClipMark(username, 64), ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}

// TryLockAccountSession takes username's account lock if it is free; nil
// (and no error) when a live process holds it.
func (db *DB) TryLockAccountSession(ctx context.Context, username string) (*Lock, error) {
	l, err := db.tryAdvisoryLock(ctx, [2]int32{accountLockSpace, accountLockKey(username)})
	if err != nil {
		return nil, fmt.Errorf("account lock of %s: %w", models.ClipMark(username, 64), err)
	}
	return l, nil
}

// TryLead takes the scheduler leader's lock if it is free (nil if not).
func (db *DB) TryLead(ctx context.Context) (*Lock, error) {
	return db.tryAdvisoryLock(ctx, [2]int32{leaderLockSpace, 1})
}
