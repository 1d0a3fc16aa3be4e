package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/uwsportal/uwsportal/models"
)

// lockHead reads the chain's head under its row lock: the lock serialises
// appends in commit order, so ids are gapless and the chain never forks.
const lockHead = `SELECT seq, hash FROM audit_head FOR UPDATE`

// appendAudit advances the head (its trigger accepts only seq+1 after the
// old hash) and inserts the event with the hash computed by
// models.ChainHash, after the head ($1 - 1, $15) the appender read under
// its lock or assumes (the group commit's loop wrote it last). When
// another writer has moved an assumed head since, the update finds no head
// to follow, nothing is inserted and no row comes back: the statement does
// not fail, so nothing is refused or logged, and the transaction goes on.
const appendAudit = `
WITH head AS (
    UPDATE audit_head SET seq = $1, prev_hash = hash, hash = $2 WHERE seq = $1 - 1 AND hash = $15
     RETURNING seq, prev_hash, hash
)
INSERT INTO audit_events (id, occurred_at, code, actor, actor_name, actor_roles, department, target,
                          outcome, source_ip, user_agent, request_id, detail, prev_hash, hash)
SELECT seq, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, prev_hash, hash FROM head
RETURNING id`

// appendAuditLinked is appendAudit in one round trip, for an appender
// inside a transaction of its own that has not read the head: advancing
// the head takes its row lock, and Postgres links the event, computing the
// chain's hash as models.ChainHash defines it (SHA-256 over the previous
// hash, the id in 8 big-endian bytes and $13, the event's canonical
// encoding). appendEvent checks what it returns against models.ChainHash,
// so the two definitions cannot part without every append failing.
const appendAuditLinked = `
WITH head AS (
    UPDATE audit_head SET seq = seq + 1, prev_hash = hash, hash = sha256(hash || int8send(seq + 1) || $13::bytea)
     RETURNING seq, prev_hash, hash
)
INSERT INTO audit_events (id, occurred_at, code, actor, actor_name, actor_roles, department, target,
                          outcome, source_ip, user_agent, request_id, detail, prev_hash, hash)
SELECT seq, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, prev_hash, hash FROM head
RETURNING id, prev_hash, hash`

// refuseCutBatch ends a batch appended on an assumed head in failure if it
// appended some of its events but not all, which it cannot (the first
// append takes the head's lock, and each one after it follows the one
// before): the head stands at one of the batch's hashes but the last
// ($1) only then, and the head's trigger refuses this update, which does
// not advance it.
const refuseCutBatch = `UPDATE audit_head SET seq = seq WHERE hash = ANY($1)`

// scanner is a row of database/sql or of pgx.
type scanner interface{ Scan(dest ...any) error }

// queryRow is QueryRow of database/sql or of pgx.
type queryRow func(ctx context.Context, sql string, args ...any) scanner

// appendEvent links e to the head of the chain and inserts it.
// If e deserves a notification, it goes to the outbox in the same
// transaction.
func (db *DB) appendEvent(ctx context.Context, q queryRow, exec execer, e *models.AuditEvent, known []string) error {
	db.batch.moved.Add(1) // the group commit's loop no longer knows the head
	prepareEvent(db, e, known)
	canonical, detail := e.CanonicalParts()
	err := q(ctx, appendAuditLinked, append(eventArgs(e, detail), canonical)...).Scan(&e.ID, &e.PrevHash, &e.Hash)
	if err == nil && !bytes.Equal(e.Hash, models.ChainHash(e.PrevHash, e.ID, canonical)) {
		err = errors.New("the hash Postgres linked the event with is not models.ChainHash's")
	}
	if err == nil {
		err = db.outboxFor(ctx, exec, e)
	}
	if err != nil {
		return db.appendFailed(e, err)
	}
	db.auditWritten()
	return nil
}

// appendArgs are appendAudit's arguments for e, whose id and hashes are
// set, and whose detail's canonical JSON is detail.
func appendArgs(e *models.AuditEvent, detail []byte) []any {
	return append(append([]any{e.ID, e.Hash}, eventArgs(e, detail)...), e.PrevHash)
}

// eventArgs are e's columns from occurred_at to detail (its canonical
// JSON), in the order the appends insert them.
func eventArgs(e *models.AuditEvent, detail []byte) []any {
	return []any{e.Time, e.Code, e.Actor, e.ActorName, nonNil(e.ActorRoles), e.Department, e.Target,
		string(e.Outcome), e.SourceIP, e.UserAgent, e.RequestID, string(detail)}
}

func (db *DB) appendFailed(e *models.AuditEvent, err error) error {
	err = fmt.Errorf("audit %s: %w", e.Code, err)
	db.auditFailed(err)
	return err
}

// AuditSink is told about every append and every failure (metrics).
type AuditSink interface {
	AuditWritten()
	AuditFailed(err error)
}

// Audit appends e inside the transaction tx: if the append fails, the
// transaction fails, so no change commits without its audit event. Call it
// last in the transaction: the chain's row lock is held until commit.
// known lists secrets handled by the operation, scrubbed from the detail
// wherever they appear.
func (db *DB) Audit(ctx context.Context, tx *Tx, e *models.AuditEvent, known ...string) error {
	// Straight to the connection: GORM would expand the roles slice.
	conn := tx.g.Statement.ConnPool
	return db.appendEvent(ctx, db.row(tx), func(ctx context.Context, q string, args ...any) error {
		_, err := conn.ExecContext(ctx, q, args...)
		return err
	}, e, known)
}

// AuditPgx appends e in a pgx transaction (used by the hot paths and the
// benchmarks that bypass GORM).
func (db *DB) AuditPgx(ctx context.Context, tx pgx.Tx, e *models.AuditEvent, known ...string) error {
	return db.appendEvent(ctx, func(ctx context.Context, q string, args ...any) scanner {
		return tx.QueryRow(ctx, q, args...)
	}, func(ctx context.Context, q string, args ...any) error {
		_, err := tx.Exec(ctx, q, args...)
		return err
	}, e, known)
}

func prepareEvent(db *DB, e *models.AuditEvent, known []string) {
	if e.Time.IsZero() {
		e.Time = db.Now()
	}
	// Microseconds: what timestamptz keeps, so the hash verifies after a read.
	e.Time = e.Time.UTC().Truncate(1000)
	if e.Outcome == "" {
		e.Outcome = models.OutcomeSuccess
	}
	e.Detail = models.Redact(e.Detail, known...)
	e.UserAgent = models.Clip(e.UserAgent, 512)
	e.Target = models.Clip(e.Target, 512)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (db *DB) auditWritten() {
	db.noteAppended()
	if db.AuditSink != nil {
		db.AuditSink.AuditWritten()
	}
}

func (db *DB) auditFailed(err error) {
	if db.AuditSink != nil {
		db.AuditSink.AuditFailed(err)
	}
}

// IsAppendOnlyViolation reports whether err is the audit trigger refusing a
// change.
func IsAppendOnlyViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "42501"
	}
	return false
}
