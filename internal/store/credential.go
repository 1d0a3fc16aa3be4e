package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/uwsportal/uwsportal/models"
)

// CredentialRow is a credentials row joined with its department and its
// upstream account's failure counts. It holds the ciphertext, so it stays
// between the store and the use cases.
type CredentialRow struct {
	ID                  int64
	DepartmentID        int64
	Slug                string
	DepartmentName      string
	Protocol            string
	MaxAgeDays          int
	ScheduleEnabled     bool
	RevealAllowed       bool
	ApproveReveal       bool
	ApproveRotate       bool
	Username            string
	Ciphertext          []byte
	KeyID               string
	Version             int
	State               string
	StateSince          time.Time
	RunID               *int64
	ConsecutiveFailures int
	// FailuresSinceSuccess survives a cleared quarantine (see the migration).
	FailuresSinceSuccess int
	LastRotatedAt        *time.Time
	LastVerifiedAt       *time.Time
	LastUpstreamCode     string
	LastResult           string
	PasswordChangedAt    time.Time
	ScheduleFailures     int
	NextAttemptAt        *time.Time
	UpdatedAt            time.Time
}

// CredState returns the row's state as the domain type.
func (r *CredentialRow) CredState() models.CredentialState { return models.CredentialState(r.State) }

// credentialSelect reads CredentialRow: its columns carry the names GORM
// maps (StuckCredentials, DueCredentials), in the order dest scans them.
const credentialSelect = `SELECT c.id, c.department_id, c.username, c.ciphertext, c.key_id, c.version, c.state,
       c.state_since, c.run_id, c.last_rotated_at, c.last_verified_at, c.last_upstream_code, c.last_result,
       c.password_changed_at, c.schedule_failures, c.next_attempt_at, c.updated_at,
       d.slug, d.name AS department_name, d.protocol, d.max_age_days,
       d.schedule_enabled, d.reveal_allowed, d.approve_reveal, d.approve_rotate,
       COALESCE(a.consecutive_failures, 0) AS consecutive_failures,
       COALESCE(a.failures_since_success, 0) AS failures_since_success
  FROM credentials c JOIN departments d ON d.id = c.department_id
  LEFT JOIN upstream_accounts a ON a.username = lower(c.username)`

// dest are r's fields in credentialSelect's order.
func (r *CredentialRow) dest() []any {
	return []any{&r.ID, &r.DepartmentID, &r.Username, &r.Ciphertext, &r.KeyID, &r.Version, &r.State,
		&r.StateSince, &r.RunID, &r.LastRotatedAt, &r.LastVerifiedAt, &r.LastUpstreamCode, &r.LastResult,
		&r.PasswordChangedAt, &r.ScheduleFailures, &r.NextAttemptAt, &r.UpdatedAt,
		&r.Slug, &r.DepartmentName, &r.Protocol, &r.MaxAgeDays,
		&r.ScheduleEnabled, &r.RevealAllowed, &r.ApproveReveal, &r.ApproveRotate,
		&r.ConsecutiveFailures, &r.FailuresSinceSuccess}
}

// errNoCredential is the not-found error for a department without a credential.
func errNoCredential(slug string) error {
	return models.Errorf(models.ErrNotFound, "Department %q has no credential yet.", models.ClipMark(slug, 64))
}

// oneCredential reads the credential where says ($1 is arg), scanned by
// hand: rotation reads it at every step, and GORM's scan was a seventh of
// a rotation's CPU.
func (db *DB) oneCredential(ctx context.Context, tx *Tx, where string, forUpdate bool, arg any) (CredentialRow, bool, error) {
	q := credentialSelect + " WHERE " + where
	if forUpdate {
		q += " FOR UPDATE OF c"
	}
	var r CredentialRow
	err := db.row(tx)(ctx, q, arg).Scan(r.dest()...)
	if errors.Is(err, sql.ErrNoRows) { // pgx.ErrNoRows is one too
		return CredentialRow{}, false, nil
	}
	return r, err == nil, err
}

// Credential returns the credential of department slug, read in tx (nil:
// outside a transaction). forUpdate locks the row until tx ends, which is
// how one rotation per credential is enforced across instances.
func (db *DB) Credential(ctx context.Context, tx *Tx, slug string, forUpdate bool) (CredentialRow, error) {
	row, found, err := db.oneCredential(ctx, tx, "d.slug = $1", forUpdate, slug)
	if err != nil {
		return CredentialRow{}, fmt.Errorf("read credential %s: %w", models.ClipMark(slug, 64), err)
	}
	if !found {
		return CredentialRow{}, errNoCredential(slug)
	}
	return row, nil
}

// CredentialByID is Credential by row id.
func (db *DB) CredentialByID(ctx context.Context, tx *Tx, id int64, forUpdate bool) (CredentialRow, error) {
	row, found, err := db.oneCredential(ctx, tx, "c.id = $1", forUpdate, id)
	if err != nil {
		return CredentialRow{}, fmt.Errorf("read credential %d: %w", id, err)
	}
	if !found {
		return CredentialRow{}, models.Errorf(models.ErrNotFound, "No credential %d.", id)
	}
	return row, nil
}

// CredentialOfAccount is Credential by UWS username (compared
// case-insensitively): the login door reads the account's current password
// through it at the moment it logs in.
func (db *DB) CredentialOfAccount(ctx context.Context, tx *Tx, username string) (CredentialRow, error) {
	row, found, err := db.oneCredential(ctx, tx, "lower(c.username) = lower($1)", false, username)
	if err != nil {
		return CredentialRow{}, fmt.Errorf("read credential of %s: %w", models.ClipMark(username, 64), err)
	}
	if !found {
		return CredentialRow{}, models.Errorf(models.ErrNotFound, "No credential uses the username %s.", models.ClipMark(username, 64))
	}
	return row, nil
}

// CredentialHolding returns the slug of the department whose credential
// uses username (compared case-insensitively), or "" if none does.
func (db *DB) CredentialHolding(ctx context.Context, username string) (string, error) {
	var slugs []string
	err := db.q(ctx, nil).Raw(`SELECT d.slug FROM credentials c JOIN departments d ON d.id = c.department_id
	  WHERE lower(c.username) = lower(?)`, username).Scan(&slugs).Error
	if err != nil || len(slugs) == 0 {
		return "", err
	}
	return slugs[0], nil
}

// CredentialsOf lists the credentials of the given departments (nil: all),
// by department name.
func (db *DB) CredentialsOf(ctx context.Context, slugs []string) ([]CredentialRow, error) {
	return queryRows(ctx, db, "list credentials", credentialSelect+` WHERE $1::text[] IS NULL OR d.slug = ANY ($1) ORDER BY d.name, d.slug`,
		[]any{slugs}, func(row pgx.CollectableRow) (CredentialRow, error) {
			var r CredentialRow
			err := row.Scan(r.dest()...)
			return r, err
		})
}

// StuckCredentials lists credentials left in a rotation state since before
// cutoff: their rotation's process died or lost its database.
func (db *DB) StuckCredentials(ctx context.Context, cutoff time.Time) ([]CredentialRow, error) {
	var rows []CredentialRow
	err := db.q(ctx, nil).Raw(credentialSelect+
		" WHERE c.state IN ('resetting', 'verifying', 'unknown') AND c.state_since < ? ORDER BY c.id", cutoff).
		Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list stuck credentials: %w", err)
	}
	return rows, nil
}

// DueCredentials lists idle credentials of scheduled departments whose
// password is older than the department's maximum age plus jitter (seconds
// derived from the id, so instances agree) and whose back-off has passed.
// Whether the lockout guard lets each one log in is the caller's question.
func (db *DB) DueCredentials(ctx context.Context, now time.Time, jitter time.Duration) ([]CredentialRow, error) {
	var rows []CredentialRow
	err := db.q(ctx, nil).Raw(credentialSelect+`
 WHERE d.schedule_enabled AND c.state = 'idle'
   AND c.password_changed_at + make_interval(days => d.max_age_days)
       + make_interval(secs => (c.id * 7919) % greatest(?::bigint, 1)) <= ?
   AND (c.next_attempt_at IS NULL OR c.next_attempt_at <= ?)
 ORDER BY c.password_changed_at, c.id`, int64(jitter/time.Second), now, now).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list due credentials: %w", err)
	}
	return rows, nil
}

// NextCredentialID reserves an id, so the ciphertext can be bound to its
// row before the row is inserted.
func (db *DB) NextCredentialID(ctx context.Context, tx *Tx) (int64, error) {
	var id int64
	err := db.q(ctx, tx).Raw("SELECT nextval(pg_get_serial_sequence('credentials', 'id'))").Scan(&id).Error
	return id, err
}

// NewCredential is a credential to insert.
type NewCredential struct {
	ID           int64
	DepartmentID int64
	Username     string
	Ciphertext   []byte
	KeyID        string
	Verified     bool
}

// InsertCredential stores a department's first credential (version 1).
func (db *DB) InsertCredential(ctx context.Context, tx *Tx, c NewCredential) error {
	now := db.Now()
	var verified *time.Time
	if c.Verified {
		verified = &now
	}
	if err := db.ensureAccount(ctx, tx, c.Username); err != nil {
		return err
	}
	err := db.q(ctx, tx).Exec(`INSERT INTO credentials
	  (id, department_id, username, ciphertext, key_id, version, state, state_since, password_changed_at,
	   last_verified_at, last_result, created_at, updated_at)
	  VALUES (?, ?, ?, ?, ?, 1, 'idle', ?, ?, ?, 'entered', ?, ?)`,
		c.ID, c.DepartmentID, c.Username, c.Ciphertext, c.KeyID, now, now, verified, now, now).Error
	if isUniqueViolation(err) {
		return models.Errorf(models.ErrConflict, "The department already has a credential, or another department holds username %s.", models.ClipMark(c.Username, 64))
	}
	return err
}

// Replacement is a new password (and perhaps username) for a credential.
type Replacement struct {
	Username   string
	Ciphertext []byte
	KeyID      string
	Verified   bool
}

// ReplaceCredential stores a new password for credential id at the next
// version and puts it back to idle (an administrator's recovery). The
// account's failure counts are the guard's business, not this one's.
func (db *DB) ReplaceCredential(ctx context.Context, tx *Tx, id int64, r Replacement) (version int, err error) {
	if err := db.ensureAccount(ctx, tx, r.Username); err != nil {
		return 0, err
	}
	now := db.Now()
	err = db.q(ctx, tx).Raw(`UPDATE credentials SET username = ?, ciphertext = ?, key_id = ?, version = version + 1,
	    state = 'idle', state_since = ?, run_id = NULL, password_changed_at = ?, last_result = 'replaced',
	    last_upstream_code = '', schedule_failures = 0, next_attempt_at = NULL, last_verified_at = CASE WHEN ? THEN ?::timestamptz ELSE last_verified_at END, updated_at = ?
	  WHERE id = ? RETURNING version`, r.Username, r.Ciphertext, r.KeyID, now, now, r.Verified, now, now, id).Scan(&version).Error
	if isUniqueViolation(err) {
		return 0, models.Errorf(models.ErrConflict, "Another department holds username %s.", models.ClipMark(r.Username, 64))
	}
	if err != nil {
		return 0, fmt.Errorf("replace credential %d: %w", id, err)
	}
	return version, nil
}

// CountQuarantined counts quarantined credentials (a metrics gauge).
func (db *DB) CountQuarantined(ctx context.Context) (int64, error) {
	var n int64
	err := db.q(ctx, nil).Table("credentials").Where("state = 'quarantined'").Count(&n).Error
	return n, err
}
