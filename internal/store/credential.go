package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uwsportal/uwsportal/models"
)

// CredentialRow is a credentials row joined with its department. It holds
// the ciphertext, so it stays between the store and the service layer.
type CredentialRow struct {
	ID                  int64
	DepartmentID        int64
	Slug                string
	DepartmentName      string
	Protocol            string
	MaxAgeDays          int
	ScheduleEnabled     bool
	RevealAllowed       bool
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
	LoginLeaseUntil      *time.Time
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

const credentialSelect = `SELECT c.*, d.slug, d.name AS department_name, d.protocol, d.max_age_days,
       d.schedule_enabled, d.reveal_allowed
  FROM credentials c JOIN departments d ON d.id = c.department_id`

// errNoCredential is the not-found error for a department without a credential.
func errNoCredential(slug string) error {
	return models.Errorf(models.ErrNotFound, "Department %q has no credential yet.", clipName(slug))
}

// Credential returns the credential of department slug, read in tx (nil:
// outside a transaction). forUpdate locks the row until tx ends, which is
// how one rotation per credential is enforced across instances.
func (db *DB) Credential(ctx context.Context, tx *Tx, slug string, forUpdate bool) (CredentialRow, error) {
	if tx == nil {
		tx = &Tx{DB: db.Gorm}
	}
	q := credentialSelect + " WHERE d.slug = ?"
	if forUpdate {
		q += " FOR UPDATE OF c"
	}
	var rows []CredentialRow
	if err := tx.WithContext(ctx).Raw(q, slug).Scan(&rows).Error; err != nil {
		return CredentialRow{}, fmt.Errorf("read credential %s: %w", clipName(slug), err)
	}
	if len(rows) == 0 {
		return CredentialRow{}, errNoCredential(slug)
	}
	return rows[0], nil
}

// CredentialByID is Credential by row id.
func (db *DB) CredentialByID(ctx context.Context, tx *Tx, id int64, forUpdate bool) (CredentialRow, error) {
	if tx == nil {
		tx = &Tx{DB: db.Gorm}
	}
	q := credentialSelect + " WHERE c.id = ?"
	if forUpdate {
		q += " FOR UPDATE OF c"
	}
	var rows []CredentialRow
	if err := tx.WithContext(ctx).Raw(q, id).Scan(&rows).Error; err != nil {
		return CredentialRow{}, fmt.Errorf("read credential %d: %w", id, err)
	}
	if len(rows) == 0 {
		return CredentialRow{}, models.Errorf(models.ErrNotFound, "No credential %d.", id)
	}
	return rows[0], nil
}

// CredentialsOf lists the credentials of the given departments (nil: all),
// by department name.
func (db *DB) CredentialsOf(ctx context.Context, slugs []string) ([]CredentialRow, error) {
	q := credentialSelect
	args := []any{}
	if slugs != nil {
		q += " WHERE d.slug IN ?"
		args = append(args, append(slugs, ""))
	}
	q += " ORDER BY d.name, d.slug"
	var rows []CredentialRow
	if err := db.Gorm.WithContext(ctx).Raw(q, args...).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("list credentials: %w", err)
	}
	return rows, nil
}

// StuckCredentials lists credentials left in a rotation state since before
// cutoff: their rotation's process died or lost its database.
func (db *DB) StuckCredentials(ctx context.Context, cutoff time.Time) ([]CredentialRow, error) {
	var rows []CredentialRow
	err := db.Gorm.WithContext(ctx).Raw(credentialSelect+
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
func (db *DB) DueCredentials(ctx context.Context, now time.Time, jitter time.Duration, maxFailures int) ([]CredentialRow, error) {
	var rows []CredentialRow
	err := db.Gorm.WithContext(ctx).Raw(credentialSelect+`
 WHERE d.schedule_enabled AND c.state = 'idle' AND c.consecutive_failures < ? AND c.failures_since_success < 4
   AND c.password_changed_at + make_interval(days => d.max_age_days)
       + make_interval(secs => (c.id * 7919) % greatest(?::bigint, 1)) <= ?
   AND (c.next_attempt_at IS NULL OR c.next_attempt_at <= ?)
 ORDER BY c.password_changed_at, c.id`, maxFailures, int64(jitter/time.Second), now, now).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list due credentials: %w", err)
	}
	return rows, nil
}

// NextCredentialID reserves an id, so the ciphertext can be bound to its
// row before the row is inserted.
func (db *DB) NextCredentialID(ctx context.Context, tx *Tx) (int64, error) {
	var id int64
	err := tx.WithContext(ctx).Raw("SELECT nextval(pg_get_serial_sequence('credentials', 'id'))").Scan(&id).Error
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
	err := tx.WithContext(ctx).Exec(`INSERT INTO credentials
	  (id, department_id, username, ciphertext, key_id, version, state, state_since, password_changed_at,
	   last_verified_at, last_result, created_at, updated_at)
	  VALUES (?, ?, ?, ?, ?, 1, 'idle', ?, ?, ?, 'entered', ?, ?)`,
		c.ID, c.DepartmentID, c.Username, c.Ciphertext, c.KeyID, now, now, verified, now, now).Error
	if isUniqueViolation(err) {
		return models.Errorf(models.ErrConflict, "The department already has a credential.")
	}
	return err
}

// UpdateCredential sets columns of credential id, only if where (extra SQL
// condition, "" for none) holds, and reports whether the row changed. It is
// how each state transition names the state it expects to leave.
func (db *DB) UpdateCredential(ctx context.Context, tx *Tx, id int64, set map[string]any, where string, args ...any) (bool, error) {
	if tx == nil {
		tx = &Tx{DB: db.Gorm}
	}
	if _, ok := set["updated_at"]; !ok {
		set["updated_at"] = db.Now()
	}
	q := tx.WithContext(ctx).Table("credentials").Where("id = ?", id)
	if where != "" {
		q = q.Where(where, args...)
	}
	res := q.Updates(set)
	if res.Error != nil {
		return false, fmt.Errorf("update credential %d: %w", id, res.Error)
	}
	return res.RowsAffected > 0, nil
}

// CountQuarantined counts quarantined credentials (a metrics gauge).
func (db *DB) CountQuarantined(ctx context.Context) (int64, error) {
	var n int64
	err := db.Gorm.WithContext(ctx).Table("credentials").Where("state = 'quarantined'").Count(&n).Error
	return n, err
}
