package store

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/uwsportal/uwsportal/models"
)

// Events that record no other change (sign-ins, denials, upstream logins)
// are appended by one group-commit loop: concurrent callers' events share a
// transaction, so the chain's row lock and the commit's WAL flush are paid
// once per batch instead of once per event. Each caller still returns only
// after its event is durable.

// maxAuditBatch bounds one transaction's size.
const maxAuditBatch = 128

type auditRequest struct {
	ctx   context.Context
	event *models.AuditEvent
	known []string
	done  chan error
}

type auditBatcher struct {
	once sync.Once
	reqs chan auditRequest
	// head is the chain's head as this loop last wrote it; only the loop
	// reads or writes it. It is assumed only while moved, which every
	// append of this process outside the loop advances, is still at: a
	// head another instance moved costs a round trip that appends
	// nothing, one this process moved costs none.
	head struct {
		known bool
		at    uint64
		seq   int64
		hash  []byte
	}
	moved atomic.Uint64
}

// AuditAlone appends e durably in a transaction of its own (shared with
// other events appended at the same moment).
func (db *DB) AuditAlone(ctx context.Context, e *models.AuditEvent, known ...string) error {
	db.batch.once.Do(func() {
		db.batch.reqs = make(chan auditRequest, maxAuditBatch)
		go db.appendLoop()
	})
	req := auditRequest{ctx: ctx, event: e, known: known, done: make(chan error, 1)}
	select {
	case db.batch.reqs <- req:
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, wait for the outcome even if ctx ends: the event may be
	// committing, and the caller must not believe it was dropped.
	return <-req.done
}

func (db *DB) appendLoop() {
	for first := range db.batch.reqs {
		batch := []auditRequest{first}
	drain:
		for len(batch) < maxAuditBatch {
			select {
			case r := <-db.batch.reqs:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		db.appendBatch(batch)
	}
}

func (db *DB) appendBatch(batch []auditRequest) {
	live := batch[:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- err
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	ctx := context.WithoutCancel(live[0].ctx)
	err := db.appendMany(ctx, live)
	if err == nil || len(live) == 1 {
		for _, r := range live {
			r.done <- err
		}
		return
	}
	// One bad event must not fail its neighbours: retry each alone.
	for _, r := range live {
		r.done <- pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error { return db.AuditPgx(ctx, tx, r.event, r.known...) })
	}
}

// appendMany links a batch of events to the chain in one transaction on
// one connection. When this loop wrote the head last, it assumes that head
// and sends everything in one round trip: BEGIN, every event's append
// (appendAudit, which appends nothing unless the head is the one
// assumed), its notification if any, and COMMIT. Otherwise, or when
// another writer moved the head (that transaction then committed nothing),
// it takes two: BEGIN with the head's lock and read, then the rest.
func (db *DB) appendMany(ctx context.Context, reqs []auditRequest) error {
	conn, err := db.commits.Acquire(ctx)
	if err != nil {
		return db.appendFailed(reqs[0].event, err)
	}
	defer conn.Release()
	h, at := &db.batch.head, db.batch.moved.Load()
	if h.known && h.at == at {
		h.known = false
		err := db.appendAt(ctx, conn, reqs, h.seq, h.hash, true, at)
		if !errors.Is(err, errHeadMoved) {
			return err
		}
	}
	seq, prev, err := beginAtHead(ctx, conn)
	if err != nil {
		return db.abort(ctx, conn, reqs[0].event, err)
	}
	return db.appendAt(ctx, conn, reqs, seq, prev, false, at)
}

// errHeadMoved says the head a batch assumed was moved by another writer:
// none of its events was appended.
var errHeadMoved = errors.New("the chain's head moved")

// appendAt appends reqs after the head (seq, prev) and commits, pipelined
// in one round trip. assumed says the transaction starts here, on a head
// remembered rather than locked and read; at is moved as read before. An
// assumed head that another writer has moved is errHeadMoved: every
// append then found no head to follow, and the transaction committed
// nothing.
func (db *DB) appendAt(ctx context.Context, conn *pgxpool.Conn, reqs []auditRequest, seq int64, prev []byte, assumed bool, at uint64) error {
	b := &pgx.Batch{}
	if assumed {
		b.Queue("BEGIN")
	}
	notified := make([]bool, len(reqs))
	var followed [][]byte // every hash of the batch but the last
	for i, r := range reqs {
		notified[i] = db.queueAppend(b, r.event, r.known, seq+int64(i)+1, prev)
		prev = r.event.Hash
		if i < len(reqs)-1 {
			followed = append(followed, prev)
		}
	}
	cutCheck := assumed && len(followed) > 0
	if cutCheck {
		b.Queue(refuseCutBatch, followed)
	}
	b.Queue("COMMIT")
	res := conn.SendBatch(ctx, b)
	fail := func(e *models.AuditEvent, err error) error {
		_ = res.Close()
		return db.abort(ctx, conn, e, err)
	}
	if assumed {
		if _, err := res.Exec(); err != nil {
			return fail(reqs[0].event, err)
		}
	}
	appended := 0
	for i, r := range reqs {
		var id int64
		switch err := res.QueryRow().Scan(&id); {
		case err == nil:
			appended++
		case !assumed || !errors.Is(err, pgx.ErrNoRows): // no row: no head to follow
			return fail(r.event, err)
		}
		if notified[i] {
			if _, err := res.Exec(); err != nil {
				return fail(r.event, err)
			}
		}
	}
	if cutCheck {
		if _, err := res.Exec(); err != nil {
			return fail(reqs[0].event, err)
		}
	}
	if _, err := res.Exec(); err != nil { // COMMIT
		return fail(reqs[0].event, err)
	}
	if err := res.Close(); err != nil {
		return db.abort(ctx, conn, reqs[0].event, err)
	}
	if appended == 0 {
		return errHeadMoved
	}
	h := &db.batch.head
	h.known, h.at, h.seq, h.hash = true, at, seq+int64(len(reqs)), prev
	for range reqs {
		db.auditWritten()
	}
	return nil
}

// queueAppend links e to the chain as event id after the event whose hash
// is prev, and queues its append and its notification, if any, in b. It
// says whether a notification was queued.
func (db *DB) queueAppend(b *pgx.Batch, e *models.AuditEvent, known []string, id int64, prev []byte) bool {
	prepareEvent(db, e, known)
	canonical, detail := e.CanonicalParts()
	e.ID, e.PrevHash, e.Hash = id, prev, models.ChainHash(prev, id, canonical)
	b.Queue(appendAudit, appendArgs(e, detail)...)
	return queueOutbox(b, e)
}

// beginAtHead opens a transaction on conn and locks and reads the chain's
// head, in one round trip.
func beginAtHead(ctx context.Context, conn *pgxpool.Conn) (seq int64, prev []byte, err error) {
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(lockHead)
	res := conn.SendBatch(ctx, b)
	if _, err = res.Exec(); err == nil {
		err = res.QueryRow().Scan(&seq, &prev)
	}
	if cerr := res.Close(); err == nil {
		err = cerr
	}
	return seq, prev, err
}

// abort rolls back whatever conn's transaction holds (nothing committed)
// and reports the append as failed. A connection that cannot roll back is
// closed rather than returned to the pool mid-transaction.
func (db *DB) abort(ctx context.Context, conn *pgxpool.Conn, e *models.AuditEvent, err error) error {
	if rerr := db.rollback(ctx, conn, nil); rerr != nil {
		return db.appendFailed(e, errors.Join(err, rerr))
	}
	return db.appendFailed(e, err)
}
