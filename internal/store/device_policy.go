package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/uwsportal/uwsportal/models"
)

// DevicePolicy reads department deptID's device policy.
func (db *DB) DevicePolicy(ctx context.Context, tx *Tx, deptID int64) (models.DevicePolicy, error) {
	var rows []struct{ Role, Operation string }
	err := db.q(ctx, tx).Raw("SELECT role, operation FROM device_policies WHERE department_id = ? ORDER BY role, operation", deptID).
		Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("read device policy: %w", err)
	}
	p := models.DevicePolicy{}
	for _, r := range rows {
		p[models.Role(r.Role)] = append(p[models.Role(r.Role)], models.Operation(r.Operation))
	}
	return p, nil
}

// SetDevicePolicy replaces department deptID's device policy.
func (db *DB) SetDevicePolicy(ctx context.Context, tx *Tx, deptID int64, p models.DevicePolicy) error {
	if err := db.q(ctx, tx).Exec("DELETE FROM device_policies WHERE department_id = ?", deptID).Error; err != nil {
		return fmt.Errorf("replace device policy: %w", err)
	}
	for _, role := range models.PolicyRoles {
		for _, op := range p[role] {
			if err := db.q(ctx, tx).Exec("INSERT INTO device_policies (department_id, role, operation) VALUES (?, ?, ?)",
				deptID, string(role), string(op)).Error; err != nil {
				return fmt.Errorf("replace device policy: %w", err)
			}
		}
	}
	return nil
}

// DepartmentPolicy reads department slug and its device policy in one
// round trip (every device page asks for both).
func (db *DB) DepartmentPolicy(ctx context.Context, slug string) (models.Department, models.DevicePolicy, error) {
	var rows []struct {
		ID                   int64
		Slug, Name, Protocol string
		MaxAgeDays           int
		ScheduleEnabled      bool
		RevealAllowed        bool
		AccountName          string
		ApproveReveal        bool
		ApproveDeactivate    bool
		ApproveRotate        bool
		CreatedAt            time.Time
		Policy               *string
	}
	err := db.q(ctx, nil).Raw(`SELECT d.id, d.slug, d.name, d.protocol, d.max_age_days, d.schedule_enabled, d.reveal_allowed,
	       d.account_name, d.approve_reveal, d.approve_deactivate, d.approve_rotate, d.created_at, `+policyColumn+`
	  FROM departments d WHERE d.slug = ?`, slug).Scan(&rows).Error
	if err != nil {
		return models.Department{}, nil, fmt.Errorf("read department %s: %w", models.ClipMark(slug, 64), err)
	}
	if len(rows) == 0 {
		return models.Department{}, nil, models.Errorf(models.ErrNotFound, "No department named %q.", models.ClipMark(slug, 64))
	}
	r := rows[0]
	rec := departmentRecord{ID: r.ID, Slug: r.Slug, Name: r.Name, Protocol: r.Protocol, MaxAgeDays: r.MaxAgeDays,
		ScheduleEnabled: r.ScheduleEnabled, RevealAllowed: r.RevealAllowed, AccountName: r.AccountName, CreatedAt: r.CreatedAt,
		ApproveReveal: r.ApproveReveal, ApproveDeactivate: r.ApproveDeactivate, ApproveRotate: r.ApproveRotate}
	return rec.model(), policyOf(r.Policy), nil
}

// policyColumn folds department d's device policy into one column of
// "role:operation" pairs (policyOf reads it back).
const policyColumn = `(SELECT string_agg(p.role || ':' || p.operation, ',' ORDER BY p.role, p.operation)
          FROM device_policies p WHERE p.department_id = d.id) AS policy`

// policyOf reads policyColumn (NULL: an empty policy).
func policyOf(col *string) models.DevicePolicy {
	policy := models.DevicePolicy{}
	if col == nil {
		return policy
	}
	for _, pair := range strings.Split(*col, ",") {
		if role, op, ok := strings.Cut(pair, ":"); ok {
			policy[models.Role(role)] = append(policy[models.Role(role)], models.Operation(op))
		}
	}
	return policy
}

// deviceDepartmentQuery is DepartmentPolicy and Credential in one round
// trip: the department, its device policy folded into "role:operation"
// pairs, its credential (id 0 without one) and its account's shared
// session (NULL without one). It goes through pgx with its columns named:
// read on every devices page and device action, through GORM it cost
// several times the CPU of the statement it sends.
const deviceDepartmentQuery = `SELECT COALESCE(c.id, 0), COALESCE(c.username, ''), c.ciphertext, COALESCE(c.key_id, ''),
       COALESCE(c.version, 0), COALESCE(c.state, ''), COALESCE(c.state_since, 'epoch'), c.run_id, c.last_rotated_at,
       c.last_verified_at, COALESCE(c.last_upstream_code, ''), COALESCE(c.last_result, ''),
       COALESCE(c.password_changed_at, 'epoch'), COALESCE(c.schedule_failures, 0), c.next_attempt_at,
       COALESCE(c.updated_at, 'epoch'), COALESCE(a.consecutive_failures, 0), COALESCE(a.failures_since_success, 0),
       d.id, d.slug, d.name, d.protocol, d.max_age_days, d.schedule_enabled, d.reveal_allowed, d.approve_reveal,
       d.approve_rotate, d.approve_deactivate, d.account_name, d.created_at,
       ` + policyColumn + `,
       s.username, s.ciphertext, s.key_id, s.updated_at
  FROM departments d LEFT JOIN credentials c ON c.department_id = d.id
  LEFT JOIN upstream_accounts a ON a.username = lower(c.username)
  LEFT JOIN upstream_sessions s ON s.username = lower(c.username)
 WHERE d.slug = $1`

// DeviceWay is what a device operation needs before it goes upstream.
type DeviceWay struct {
	Department models.Department
	Policy     models.DevicePolicy
	Credential *CredentialRow // nil: none yet
	// Session is the account's shared session as read (Username "": none).
	Session SealedSession
}

// DeviceDepartment reads department slug, its device policy, its
// credential and its account's shared session in one round trip.
func (db *DB) DeviceDepartment(ctx context.Context, slug string) (DeviceWay, error) {
	var c CredentialRow
	var d departmentRecord
	var policy, sessUser, sessKey *string
	var sessCipher []byte
	var sessAt *time.Time
	err := db.Pool.QueryRow(ctx, deviceDepartmentQuery, slug).Scan(
		&c.ID, &c.Username, &c.Ciphertext, &c.KeyID, &c.Version, &c.State, &c.StateSince, &c.RunID, &c.LastRotatedAt,
		&c.LastVerifiedAt, &c.LastUpstreamCode, &c.LastResult, &c.PasswordChangedAt, &c.ScheduleFailures, &c.NextAttemptAt,
		&c.UpdatedAt, &c.ConsecutiveFailures, &c.FailuresSinceSuccess,
		&d.ID, &d.Slug, &d.Name, &d.Protocol, &d.MaxAgeDays, &d.ScheduleEnabled, &d.RevealAllowed, &d.ApproveReveal,
		&d.ApproveRotate, &d.ApproveDeactivate, &d.AccountName, &d.CreatedAt,
		&policy, &sessUser, &sessCipher, &sessKey, &sessAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return DeviceWay{}, models.Errorf(models.ErrNotFound, "No department named %q.", models.ClipMark(slug, 64))
	}
	if err != nil {
		return DeviceWay{}, fmt.Errorf("read department %s: %w", models.ClipMark(slug, 64), err)
	}
	way := DeviceWay{Department: d.model(), Policy: policyOf(policy)}
	if c.ID != 0 {
		c.DepartmentID, c.Slug, c.DepartmentName, c.Protocol, c.MaxAgeDays = d.ID, d.Slug, d.Name, d.Protocol, d.MaxAgeDays
		c.ScheduleEnabled, c.RevealAllowed, c.ApproveReveal, c.ApproveRotate = d.ScheduleEnabled, d.RevealAllowed, d.ApproveReveal, d.ApproveRotate
		way.Credential = &c
	}
	if sessUser != nil && sessKey != nil && sessAt != nil {
		way.Session = SealedSession{Username: *sessUser, Ciphertext: sessCipher, KeyID: *sessKey, UpdatedAt: *sessAt}
	}
	return way, nil
}
