package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/uwsportal/uwsportal/models"
)

// appendAudit is one statement: advance the head (its row lock serialises
// appends in commit order and hands out a gapless id), compute the chain
// hash in the database, insert the event.
const appendAudit = `
WITH head AS (
    UPDATE audit_head
       SET seq = seq + 1, prev_hash = hash, hash = sha256(hash || int8send(seq + 1) || $1::bytea)
     RETURNING seq, prev_hash, hash
)
INSERT INTO audit_events (id, occurred_at, code, actor, actor_name, actor_roles, department, target,
                          outcome, source_ip, user_agent, request_id, detail, prev_hash, hash)
SELECT seq, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, prev_hash, hash FROM head
RETURNING id, prev_hash, hash`

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
	prepareEvent(db, e, known)
	var id int64
	var prev, hash []byte
	// Straight to the connection: GORM would expand the roles slice.
	row := tx.g.Statement.ConnPool.QueryRowContext(ctx, appendAudit, e.Canonical(), e.Time, e.Code, e.Actor, e.ActorName,
		nonNil(e.ActorRoles), e.Department, e.Target, string(e.Outcome), e.SourceIP, e.UserAgent,
		e.RequestID, string(models.CanonicalJSON(e.Detail)))
	if err := row.Scan(&id, &prev, &hash); err != nil {
		err = fmt.Errorf("audit %s: %w", e.Code, err)
		db.auditFailed(err)
		return err
	}
	e.ID, e.PrevHash, e.Hash = id, prev, hash
	db.auditWritten()
	return nil
}

// AuditPgx appends e in a pgx transaction (used by the hot paths and the
// benchmarks that bypass GORM).
func (db *DB) AuditPgx(ctx context.Context, tx pgx.Tx, e *models.AuditEvent, known ...string) error {
	prepareEvent(db, e, known)
	err := tx.QueryRow(ctx, appendAudit, e.Canonical(), e.Time, e.Code, e.Actor, e.ActorName,
		nonNil(e.ActorRoles), e.Department, e.Target, string(e.Outcome), e.SourceIP, e.UserAgent,
		e.RequestID, string(models.CanonicalJSON(e.Detail))).Scan(&e.ID, &e.PrevHash, &e.Hash)
	if err != nil {
		err = fmt.Errorf("audit %s: %w", e.Code, err)
		db.auditFailed(err)
		return err
	}
	db.auditWritten()
	return nil
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
	e.UserAgent = clip(e.UserAgent, 512)
	e.Target = clip(e.Target, 512)
}

func clip(s string, n int) string { return models.Clip(s, n) }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (db *DB) auditWritten() {
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
