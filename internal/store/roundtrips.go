package store

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/uwsportal/uwsportal/models"
)

// RoundTrips counts what a pool sends Postgres while counting: each
// statement alone, each batch (pipelined: one round trip) and each
// prepare, by its first words. Give it to Open (Options.RoundTrips); tests
// pin the round trips of a request with it.
type RoundTrips struct {
	// Whole keeps each statement whole instead of its first words.
	Whole bool
	mu    sync.Mutex
	on    bool
	sent  []string
	// holds: statements held back until another is sent (HoldUntil).
	holds []*hold
}

type hold struct {
	held, until string
	sent        chan struct{} // closed once until was sent
	done        bool
}

// HoldUntil holds back every statement containing held until one
// containing until has been sent (for at most 5 s): a test proves that a
// read goes out while another is in flight, since a read sent only after
// the held one is answered never comes while it waits.
func (r *RoundTrips) HoldUntil(held, until string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.holds = append(r.holds, &hold{held: held, until: until, sent: make(chan struct{})})
}

// send holds sql back as HoldUntil says, then notes it as sent. It is
// noted before the statements it held are let go, so the order noted is
// the order sent.
func (r *RoundTrips) send(sql string) {
	r.mu.Lock()
	var waits []chan struct{}
	for _, h := range r.holds {
		if strings.Contains(sql, h.held) {
			waits = append(waits, h.sent)
		}
	}
	r.mu.Unlock()
	for _, w := range waits {
		select {
		case <-w:
		case <-time.After(5 * time.Second):
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.noteLocked(sql)
	for _, h := range r.holds {
		if !h.done && strings.Contains(sql, h.until) {
			h.done = true
			close(h.sent)
		}
	}
}

// Count runs fn and returns what was sent meanwhile, on any connection.
func (r *RoundTrips) Count(fn func()) []string {
	r.mu.Lock()
	r.on, r.sent = true, nil
	r.mu.Unlock()
	fn()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on = false
	return r.sent
}

func (r *RoundTrips) note(sql string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.noteLocked(sql)
}

func (r *RoundTrips) noteLocked(sql string) {
	if !r.on {
		return
	}
	sql = strings.Join(strings.Fields(sql), " ")
	if !r.Whole {
		sql = models.Clip(sql, 70)
	}
	r.sent = append(r.sent, sql)
}

// tracer is RoundTrips as pgx's tracer.
type tracer struct{ r *RoundTrips }

func (t tracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	t.r.send(d.SQL)
	return ctx
}

func (tracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (t tracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	sql := "batch"
	if d.Batch != nil && len(d.Batch.QueuedQueries) > 0 {
		sql = "batch: " + d.Batch.QueuedQueries[len(d.Batch.QueuedQueries)-1].SQL
	}
	t.r.send(sql)
	return ctx
}

func (tracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (tracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func (t tracer) TracePrepareStart(ctx context.Context, _ *pgx.Conn, d pgx.TracePrepareStartData) context.Context {
	t.r.note("prepare: " + d.SQL)
	return ctx
}

func (tracer) TracePrepareEnd(context.Context, *pgx.Conn, pgx.TracePrepareEndData) {}
