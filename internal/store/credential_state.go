package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uwsportal/uwsportal/models"
)

// The credential's state transitions, each named for what it does and
// each naming the state it expects to leave (docs/design.md, the rotation
// state machine).

func (db *DB) exec(ctx context.Context, tx *Tx, what string, q string, args ...any) (bool, error) {
	res := db.q(ctx, tx).Exec(q, args...)
	if res.Error != nil {
		return false, fmt.Errorf("%s: %w", what, res.Error)
	}
	return res.RowsAffected > 0, nil
}

// StartRotation moves credential id from idle to resetting for run runID.
func (db *DB) StartRotation(ctx context.Context, tx *Tx, id, runID int64) error {
	ok, err := db.exec(ctx, tx, "start rotation", `UPDATE credentials SET state = 'resetting', state_since = ?, run_id = ?,
	  last_result = ?, updated_at = ? WHERE id = ? AND state = 'idle'`, db.Now(), runID, models.RunRunning, db.Now(), id)
	if err == nil && !ok {
		err = models.Errorf(models.ErrConflict, "The credential is no longer idle.")
	}
	return err
}

// StoreRotatedPassword stores the password a reset returned as version
// version+1 and moves the credential to verifying, whatever state recovery
// may have moved it to meanwhile: this password is the truth now. It
// refuses (ok false) if the credential is no longer at version: an
// administrator replaced it during the rotation.
func (db *DB) StoreRotatedPassword(ctx context.Context, tx *Tx, id int64, version int, ciphertext []byte, keyID string, runID int64) (bool, error) {
	now := db.Now()
	return db.exec(ctx, tx, "store rotated password", `UPDATE credentials SET ciphertext = ?, key_id = ?, version = version + 1,
	  state = 'verifying', state_since = ?, run_id = ?, password_changed_at = ?, last_result = 'applied', updated_at = ?
	  WHERE id = ? AND version = ?`, ciphertext, keyID, now, runID, now, now, id, version)
}

// MarkRotationUnknown moves credential id from resetting to unknown (the
// reset's answer was lost), if it is still resetting at version.
func (db *DB) MarkRotationUnknown(ctx context.Context, tx *Tx, id int64, version int, code string) (bool, error) {
	now := db.Now()
	return db.exec(ctx, tx, "mark rotation unknown", `UPDATE credentials SET state = 'unknown', state_since = ?,
	  last_result = ?, last_upstream_code = ?, updated_at = ? WHERE id = ? AND state = 'resetting' AND version = ?`,
		now, models.RunUnknown, models.Clip(code, 200), now, id, version)
}

// RotationEnd is the last transition of a rotation run.
type RotationEnd struct {
	Version  int
	From, To models.CredentialState
	Result   string
	Code     string
	Verified bool // the password at Version was just seen to work
	Rotated  bool // a new password was verified: the schedule starts again
}

// EndRotation records a run's end on credential id: the state moves from
// end.From to end.To only if it is still there at end.Version (a
// quarantine set by the guard meanwhile, or a credential replaced by an
// administrator, stays); the result is recorded either way if the version
// still holds. It returns the state the credential is left in.
func (db *DB) EndRotation(ctx context.Context, tx *Tx, id int64, end RotationEnd) (models.CredentialState, error) {
	now := db.Now()
	var state string
	err := db.row(tx)(ctx, `UPDATE credentials SET
	    state = CASE WHEN state = $1 THEN $2 ELSE state END,
	    state_since = CASE WHEN state = $1 THEN $3::timestamptz ELSE state_since END,
	    last_result = $4, last_upstream_code = $5,
	    last_verified_at = CASE WHEN $6 THEN $3::timestamptz ELSE last_verified_at END,
	    last_rotated_at = CASE WHEN $7 THEN $3::timestamptz ELSE last_rotated_at END,
	    schedule_failures = CASE WHEN $7 THEN 0 ELSE schedule_failures END,
	    next_attempt_at = CASE WHEN $7 THEN NULL ELSE next_attempt_at END,
	    updated_at = $3
	  WHERE id = $8 AND version = $9 RETURNING state`,
		string(end.From), string(end.To), now, end.Result, models.Clip(end.Code, 200),
		end.Verified, end.Rotated, id, end.Version).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) { // pgx.ErrNoRows is one too
		// Replaced meanwhile: the row tells its own story.
		cur, err := db.CredentialByID(ctx, tx, id, false)
		return cur.CredState(), err
	}
	if err != nil {
		return "", fmt.Errorf("end rotation of credential %d: %w", id, err)
	}
	return models.CredentialState(state), nil
}

// ClaimStuckRotation takes over a rotation left in row's state: of several
// instances recovering at once, only the one whose update still sees the
// state_since it read goes on.
func (db *DB) ClaimStuckRotation(ctx context.Context, row CredentialRow) (bool, error) {
	return db.exec(ctx, nil, "claim stuck rotation", `UPDATE credentials SET state_since = ?, updated_at = ?
	  WHERE id = ? AND state = ? AND state_since = ? AND version = ?`,
		db.Now(), db.Now(), row.ID, row.State, row.StateSince, row.Version)
}

// MarkVerified records that credential id's password at version worked
// just now; a credential that needed attention is idle again.
func (db *DB) MarkVerified(ctx context.Context, tx *Tx, id int64, version int) error {
	now := db.Now()
	_, err := db.exec(ctx, tx, "mark verified", `UPDATE credentials SET last_verified_at = ?,
	    state = CASE WHEN state = 'attention' THEN 'idle' ELSE state END,
	    state_since = CASE WHEN state = 'attention' THEN ?::timestamptz ELSE state_since END, updated_at = ?
	  WHERE id = ? AND version = ?`, now, now, now, id, version)
	return err
}

// ClearQuarantine puts credential id back to idle.
func (db *DB) ClearQuarantine(ctx context.Context, tx *Tx, id int64) error {
	now := db.Now()
	_, err := db.exec(ctx, tx, "clear quarantine", `UPDATE credentials SET state = 'idle', state_since = ?, run_id = NULL,
	  updated_at = ? WHERE id = ?`, now, now, id)
	return err
}

// QuarantineCredentialOf quarantines the credential that uses username, if
// any and if it is not quarantined already, and returns its department.
func (db *DB) QuarantineCredentialOf(ctx context.Context, tx *Tx, username string) (slug string, err error) {
	now := db.Now()
	var slugs []string
	err = db.q(ctx, tx).Raw(`UPDATE credentials c SET state = 'quarantined', state_since = ?, updated_at = ?
	    FROM departments d WHERE d.id = c.department_id AND lower(c.username) = lower(?) AND c.state <> 'quarantined'
	  RETURNING d.slug`, now, now, username).Scan(&slugs).Error
	if err != nil || len(slugs) == 0 {
		return "", err
	}
	return slugs[0], nil
}

// BackOffSchedule records a failed scheduled rotation of credential id,
// with its audit event e, in one transaction.
func (db *DB) BackOffSchedule(ctx context.Context, id int64, failures int, next time.Time, e *models.AuditEvent) error {
	return db.WithTx(ctx, func(tx *Tx) error {
		if _, err := db.exec(ctx, tx, "back off schedule", `UPDATE credentials SET schedule_failures = ?, next_attempt_at = ?,
	  updated_at = ? WHERE id = ?`, failures, next, db.Now(), id); err != nil {
			return err
		}
		return db.Audit(ctx, tx, e)
	})
}
