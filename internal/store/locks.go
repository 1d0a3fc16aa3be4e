package store

import (
	"context"
	"fmt"
	"hash/fnv"

	"github.com/jackc/pgx/v5"
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
// so that a process that dies or loses the database releases it.
type Lock struct {
	conn *pgx.Conn
	key  [2]int32
}

// Unlock releases the lock; a lost connection has released it already.
func (l *Lock) Unlock() {
	if l == nil || l.conn == nil {
		return
	}
	ctx := context.Background()
	// The connection was taken out of the pool for the lock: closing it
	// releases the lock whether or not the unlock got through.
	_, _ = l.conn.Exec(ctx, "SELECT pg_advisory_unlock($1, $2)", l.key[0], l.key[1])
	l.conn.Close(ctx)
	l.conn = nil
}

// Alive reports whether the lock's connection still answers.
func (l *Lock) Alive(ctx context.Context) bool {
	return l != nil && l.conn != nil && l.conn.Ping(ctx) == nil
}

func (db *DB) advisoryLock(ctx context.Context, key [2]int32, wait bool) (*Lock, error) {
	pc, err := db.Pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	// Out of the pool: the lock lives as long as this connection.
	conn := pc.Hijack()
	got := true
	if wait {
		_, err = conn.Exec(ctx, "SELECT pg_advisory_lock($1, $2)", key[0], key[1])
	} else {
		err = conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, $2)", key[0], key[1]).Scan(&got)
	}
	if err != nil || !got {
		conn.Close(context.Background())
		return nil, err
	}
	return &Lock{conn: conn, key: key}, nil
}

// LockAccountSession waits for username's account lock: the rotation of
// its credential and the login that fills its session cache hold it, so
// an instance finding no session waits for the one logging in and reuses
// its session instead of logging in too.
func (db *DB) LockAccountSession(ctx context.Context, username string) (*Lock, error) {
	l, err := db.advisoryLock(ctx, [2]int32{accountLockSpace, accountLockKey(username)}, true)
	if err != nil {
		return nil, fmt.Errorf("account lock of %s: %w", clipName(username), err)
	}
	return l, nil
}

// TryLockAccountSession takes username's account lock if it is free; nil
// (and no error) when a live process holds it.
func (db *DB) TryLockAccountSession(ctx context.Context, username string) (*Lock, error) {
	l, err := db.advisoryLock(ctx, [2]int32{accountLockSpace, accountLockKey(username)}, false)
	if err != nil {
		return nil, fmt.Errorf("account lock of %s: %w", clipName(username), err)
	}
	return l, nil
}

// TryLead takes the scheduler leader's lock if it is free (nil if not).
func (db *DB) TryLead(ctx context.Context) (*Lock, error) {
	return db.advisoryLock(ctx, [2]int32{leaderLockSpace, 1}, false)
}
