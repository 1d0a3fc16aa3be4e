package store

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgconn"
)

// The free-text index (audit_events_text_idx, trigrams in GIN) takes new
// entries into a pending list, and the append that finds the list full
// merges it into the index before it can commit: tens of milliseconds, in
// the middle of the chain's serial appends, so every caller queued behind
// that append waits too. A cleaner merges it in the background instead,
// on a request connection, after every cleanEvery events this instance
// appended, so the list stays short and no append pays for it. An idle
// instance sends nothing.

// cleanEvery is how many events this instance appends between two merges.
const cleanEvery = 256

type textCleaner struct {
	once     sync.Once
	wake     chan struct{}
	stop     context.CancelFunc
	appended atomic.Int64
	// off: the database refused the merge (the portal's user does not own
	// the index); the list is then merged by appends and autovacuum, as
	// Postgres does by default.
	off atomic.Bool
	// merges counts the merges made (tests wait on it).
	merges atomic.Int64
}

// noteAppended counts one appended event and wakes the cleaner once
// cleanEvery have been appended since it last ran.
func (db *DB) noteAppended() {
	c := &db.clean
	if c.off.Load() || c.appended.Add(1) < cleanEvery {
		return
	}
	c.appended.Store(0)
	c.once.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		c.wake, c.stop = make(chan struct{}, 1), cancel
		go db.cleanLoop(ctx)
	})
	select {
	case c.wake <- struct{}{}:
	default: // a merge is already due
	}
}

func (db *DB) cleanLoop(ctx context.Context) {
	c := &db.clean
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		}
		_, err := db.Pool.Exec(ctx, "SELECT gin_clean_pending_list('audit_events_text_idx'::regclass)")
		var pe *pgconn.PgError
		switch {
		case err == nil:
			c.merges.Add(1)
		case errors.As(err, &pe) && pe.Code == "42501": // insufficient_privilege: not the index's owner
			c.off.Store(true)
			db.log.Info("audit: the free-text index's pending list is left to appends and autovacuum: this database user does not own it", "err", err)
			return
		case ctx.Err() == nil:
			db.log.Warn("audit: merging the free-text index's pending list", "err", err)
		}
	}
}

// closeCleaner stops the cleaner, if it started.
func (db *DB) closeCleaner() {
	c := &db.clean
	c.once.Do(func() {}) // no cleaner starts after Close
	if c.stop != nil {
		c.stop()
	}
}

// TextIndexMerges is how many times this instance merged the free-text
// index's pending list (for tests).
func (db *DB) TextIndexMerges() int64 { return db.clean.merges.Load() }
