package store

import (
	"context"
	"sync"
	"time"

	"github.com/uwsportal/uwsportal/models"
)

// The race of two ways to read one page of the trail: the free-text
// search's (searchText) and a time window's (searchWindow).

// maxHedges bounds the backups (hedged) running at once on an instance:
// under load every query runs past its hedge, and a backup for each would
// double the database's work when it has least to spare.
const maxHedges = 2

// hedged runs plan and, if it has not answered within hedge of having its
// connection, backup beside it, when fewer than maxHedges backups are
// running and the pool has a connection to spare (a pool in full use is a
// loaded database); the first to answer answers and the other is
// cancelled. plan calls started once it has its connection: a plan that
// waits for one under load is not slow. With hedge 0 only backup runs.
func (db *DB) hedged(ctx context.Context, hedge time.Duration, plan func(ctx context.Context, started func()) ([]models.AuditEvent, error),
	backup func(context.Context) ([]models.AuditEvent, error)) ([]models.AuditEvent, error) {
	if hedge <= 0 {
		return backup(ctx)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // the one still running
	type answer struct {
		out []models.AuditEvent
		err error
	}
	answers := make(chan answer, 2)
	running := make(chan struct{})
	go func() {
		out, err := plan(ctx, sync.OnceFunc(func() { close(running) }))
		answers <- answer{out, err}
	}()
	select {
	case a := <-answers:
		return a.out, a.err
	case <-running:
	}
	timer := time.NewTimer(hedge)
	defer timer.Stop()
	select {
	case a := <-answers:
		return a.out, a.err
	case <-timer.C:
	}
	if !db.takeHedge() {
		a := <-answers
		return a.out, a.err
	}
	go func() {
		defer func() { <-db.hedges }()
		out, err := backup(ctx)
		answers <- answer{out, err}
	}()
	first := <-answers
	if first.err == nil {
		return first.out, nil
	}
	if second := <-answers; second.err == nil {
		return second.out, nil
	}
	return nil, first.err
}

// takeHedge takes a backup's token, if fewer than maxHedges backups run
// and the pool has a connection to spare (idle, or room for one more).
func (db *DB) takeHedge() bool {
	if db.Pool != nil {
		if st := db.Pool.Stat(); st.IdleConns() == 0 && st.TotalConns() >= st.MaxConns() {
			return false
		}
	}
	select {
	case db.hedges <- struct{}{}:
		return true
	default:
		return false
	}
}
