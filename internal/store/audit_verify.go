package store

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/uwsportal/uwsportal/models"
)

// VerifyResult is the outcome of walking the whole chain.
type VerifyResult struct {
	Events   int64
	OK       bool
	FirstBad int64  // id of the first event that fails, 0 when OK
	Reason   string // why it fails, for a person
	Checked  time.Time
}

// auditColumns are read in this order by every scan of whole events.
const auditColumns = `id, occurred_at, code, actor, actor_name, actor_roles, department, target, outcome,
	source_ip, user_agent, request_id, detail::text, prev_hash, hash`

// scanAudit reads one row of auditColumns.
func scanAudit(row pgx.Row, e *models.AuditEvent, detail *[]byte) error {
	var outcome string
	err := row.Scan(&e.ID, &e.Time, &e.Code, &e.Actor, &e.ActorName, &e.ActorRoles, &e.Department, &e.Target,
		&outcome, &e.SourceIP, &e.UserAgent, &e.RequestID, detail, &e.PrevHash, &e.Hash)
	e.Outcome = models.Outcome(outcome)
	return err
}

// VerifyAudit recomputes every hash in id order and checks that each event
// links to the one before it, that no id is missing, and that the last
// event is the one the head names (so a deleted tail is found too).
func (db *DB) VerifyAudit(ctx context.Context) (VerifyResult, error) {
	res := VerifyResult{OK: true, Checked: db.Now()}
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return res, err
	}
	defer conn.Release()
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return res, err
	}
	defer tx.Rollback(ctx)
	var headSeq int64
	var headHash []byte
	if err := tx.QueryRow(ctx, `SELECT seq, hash FROM audit_head`).Scan(&headSeq, &headHash); err != nil {
		return res, fmt.Errorf("read audit head: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT `+auditColumns+` FROM audit_events ORDER BY id`)
	if err != nil {
		return res, err
	}
	defer rows.Close()
	prev := models.GenesisHash
	var want int64 = 1
	fail := func(id int64, reason string) {
		if res.OK {
			res.OK, res.FirstBad, res.Reason = false, id, reason
		}
	}
	var e models.AuditEvent
	var detail []byte
	for rows.Next() {
		if err := scanAudit(rows, &e, &detail); err != nil {
			return res, err
		}
		res.Events++
		if !res.OK {
			continue
		}
		e.Detail = nil
		switch {
		case e.ID != want:
			fail(want, fmt.Sprintf("event %d is missing (the next one is %d)", want, e.ID))
		case !bytes.Equal(e.PrevHash, prev):
			fail(e.ID, "its previous hash does not match the event before it: an event was removed, reordered or replaced")
		case !bytes.Equal(e.Hash, models.ChainHash(e.PrevHash, e.ID, e.CanonicalStored(detail))):
			fail(e.ID, "its content does not match its hash: the event was edited")
		}
		prev, want = e.Hash, e.ID+1
	}
	if err := rows.Err(); err != nil {
		return res, err
	}
	if res.OK && (want-1 != headSeq || !bytes.Equal(prev, headHash)) {
		fail(want, fmt.Sprintf("the trail ends at event %d but %d were written: events at the end were removed", want-1, headSeq))
	}
	return res, nil
}

// ClaimAuditWatch says whether this instance should verify the chain now:
// true for the one caller that finds the last automatic verification at
// or before cutoff, which it moves to now.
func (db *DB) ClaimAuditWatch(ctx context.Context, now, cutoff time.Time) (bool, error) {
	tag, err := db.Pool.Exec(ctx, `UPDATE audit_watch SET last_verified_at = $1 WHERE last_verified_at <= $2`, now, cutoff)
	if err != nil {
		return false, fmt.Errorf("claim the audit watch: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}
