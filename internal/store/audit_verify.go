package store

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/uwsportal/uwsportal/models"
)

// VerifyResult is the outcome of walking the chain, whole or from a
// checkpoint.
type VerifyResult struct {
	Events   int64
	OK       bool
	FirstBad int64  // id of the first event that fails, 0 when OK
	Reason   string // why it fails, for a person
	Checked  time.Time
	// Full is true when the walk started at the first event.
	Full bool
	// Checkpoint is the id of the audit.verified event the walk started
	// from (0 for a full walk); events up to From-1 were verified by it.
	Checkpoint int64
	From       int64
	// Through is the last event walked and ThroughHash its hash: when OK,
	// the next verification may start there (the checkpoint it records).
	Through     int64
	ThroughHash []byte
}

// Checkpoint is a point of the chain already verified: the event id and
// its hash, as a successful audit.verified event records them.
type Checkpoint struct {
	Event   int64 // the audit.verified event that records it
	Through int64
	Hash    []byte
}

// Detail keys of the audit.verified event that make it a checkpoint.
const (
	CheckpointThrough = "through"
	CheckpointHash    = "through_hash"
)

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
	return db.verifyIn(ctx, func(context.Context, pgx.Tx) (Checkpoint, error) { return Checkpoint{}, nil })
}

// VerifyAuditIncremental walks the chain from its latest checkpoint (the
// last successful audit.verified event that names one), so its cost is
// the events written since. The checkpoint event itself lies after the
// point it names and is walked too: editing or forging it breaks the chain
// there. Without a checkpoint it walks the whole chain.
func (db *DB) VerifyAuditIncremental(ctx context.Context) (VerifyResult, error) {
	return db.verifyIn(ctx, latestCheckpoint)
}

// VerifyAuditFrom walks the chain from cp (its Event may be 0), checking
// first that event cp.Through still has cp.Hash.
func (db *DB) VerifyAuditFrom(ctx context.Context, cp Checkpoint) (VerifyResult, error) {
	return db.verifyIn(ctx, func(context.Context, pgx.Tx) (Checkpoint, error) { return cp, nil })
}

// latestCheckpointSQL finds the newest checkpoint through the partial
// index audit_events_checkpoint_idx (migration 00050), whose predicate it
// repeats.
const latestCheckpointSQL = `SELECT id, detail->>'` + CheckpointThrough + `', detail->>'` + CheckpointHash + `'
  FROM audit_events WHERE code = '` + models.EvAuditVerified + `' AND outcome = 'success' AND detail ? '` + CheckpointThrough + `'
 ORDER BY id DESC LIMIT 1`

func latestCheckpoint(ctx context.Context, tx pgx.Tx) (Checkpoint, error) {
	var cp Checkpoint
	var through, hash string
	err := tx.QueryRow(ctx, latestCheckpointSQL).Scan(&cp.Event, &through, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return Checkpoint{}, nil
	}
	if err != nil {
		return cp, fmt.Errorf("read audit checkpoint: %w", err)
	}
	// A malformed checkpoint gets Through -1 or a wrong hash: the checks
	// in verifyIn report it as a bad checkpoint. One through event 0 (a
	// verification of the empty trail) starts the walk at the beginning.
	n, err := strconv.ParseInt(through, 10, 64)
	if err != nil || n < 0 {
		n = -1
	}
	cp.Through = n
	cp.Hash, _ = hex.DecodeString(hash)
	return cp, nil
}

// verifyIn runs one walk in a repeatable-read snapshot: find the starting
// checkpoint, check it, walk from it to the head.
func (db *DB) verifyIn(ctx context.Context, start func(context.Context, pgx.Tx) (Checkpoint, error)) (VerifyResult, error) {
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
	// A long walk outlives the pool's statement timeout.
	if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
		return res, err
	}
	var head Checkpoint
	if err := tx.QueryRow(ctx, `SELECT seq, hash FROM audit_head`).Scan(&head.Through, &head.Hash); err != nil {
		return res, fmt.Errorf("read audit head: %w", err)
	}
	cp, err := start(ctx, tx)
	if err != nil {
		return res, err
	}
	res.Checkpoint, res.Full, res.From = cp.Event, cp.Through == 0, cp.Through+1
	prev := models.GenesisHash
	if cp.Through != 0 {
		if prev, err = checkCheckpoint(ctx, tx, cp, head.Through, &res); err != nil || !res.OK {
			return res, err
		}
	}
	if err := walk(ctx, tx, cp.Through, prev, &res); err != nil {
		return res, err
	}
	if res.OK && (res.Through != head.Through || !bytes.Equal(res.ThroughHash, head.Hash)) {
		res.fail(res.Through+1, fmt.Sprintf("the trail ends at event %d but %d were written: events at the end were removed", res.Through, head.Through))
	}
	return res, nil
}

// checkCheckpoint checks that cp names an event before itself (or before
// the head) that still has the hash cp recorded, and returns that hash.
func checkCheckpoint(ctx context.Context, tx pgx.Tx, cp Checkpoint, headSeq int64, res *VerifyResult) ([]byte, error) {
	bad := func(reason string) ([]byte, error) {
		id := cp.Event // the checkpoint event is the bad one
		if id == 0 {
			id = cp.Through
		}
		res.fail(id, "the checkpoint "+reason+": it was forged or edited")
		return nil, nil
	}
	if cp.Through < 0 || cp.Through > headSeq || (cp.Event != 0 && cp.Through >= cp.Event) {
		return bad(fmt.Sprintf("names event %d, which it cannot have verified", cp.Through))
	}
	var hash []byte
	err := tx.QueryRow(ctx, `SELECT hash FROM audit_events WHERE id = $1`, cp.Through).Scan(&hash)
	if errors.Is(err, pgx.ErrNoRows) {
		res.fail(cp.Through, fmt.Sprintf("event %d, which the checkpoint names, is missing", cp.Through))
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read audit checkpoint event: %w", err)
	}
	if len(cp.Hash) != len(models.GenesisHash) || !bytes.Equal(hash, cp.Hash) {
		return bad(fmt.Sprintf("records a hash that event %d does not have", cp.Through))
	}
	res.Through, res.ThroughHash = cp.Through, hash
	return hash, nil
}

// walk recomputes the hashes of the events after id `after`, whose hash is
// prev, in id order.
func walk(ctx context.Context, tx pgx.Tx, after int64, prev []byte, res *VerifyResult) error {
	rows, err := tx.Query(ctx, `SELECT `+auditColumns+` FROM audit_events WHERE id > $1 ORDER BY id`, after)
	if err != nil {
		return err
	}
	defer rows.Close()
	want := after + 1
	res.Through, res.ThroughHash = after, prev
	var e models.AuditEvent
	var detail []byte
	for rows.Next() {
		if err := scanAudit(rows, &e, &detail); err != nil {
			return err
		}
		res.Events++
		if !res.OK {
			continue
		}
		e.Detail = nil
		switch {
		case e.ID != want:
			res.fail(want, fmt.Sprintf("event %d is missing (the next one is %d)", want, e.ID))
		case !bytes.Equal(e.PrevHash, prev):
			res.fail(e.ID, "its previous hash does not match the event before it: an event was removed, reordered or replaced")
		case !bytes.Equal(e.Hash, models.ChainHash(e.PrevHash, e.ID, e.CanonicalStored(detail))):
			res.fail(e.ID, "its content does not match its hash: the event was edited")
		default:
			prev, want = e.Hash, e.ID+1
			res.Through, res.ThroughHash = e.ID, e.Hash
		}
	}
	return rows.Err()
}

func (r *VerifyResult) fail(id int64, reason string) {
	if r.OK {
		r.OK, r.FirstBad, r.Reason = false, id, reason
	}
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

// lastFullSQL finds the newest full verification through the partial
// index audit_events_full_verify_idx (migration 00050).
const lastFullSQL = `SELECT occurred_at FROM audit_events
 WHERE code = '` + models.EvAuditVerified + `' AND detail @> '{"full": true}' ORDER BY id DESC LIMIT 1`

// LastFullAuditVerify is when the whole chain was last walked (a full
// audit.verified event, whatever its outcome), zero if never.
func (db *DB) LastFullAuditVerify(ctx context.Context) (time.Time, error) {
	var at time.Time
	err := db.Pool.QueryRow(ctx, lastFullSQL).Scan(&at)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return at, fmt.Errorf("last full audit verification: %w", err)
	}
	return at, nil
}
