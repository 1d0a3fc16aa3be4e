package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uwsportal/uwsportal/models"
)

type approvalRecord struct {
	ID, DepartmentID                        int64
	Slug, DepartmentName, Action, Devices   string
	Requester, RequesterName, Reason, State string
	DecidedBy, DeciderName, Note            string
	RequestedAt, ExpiresAt                  time.Time
	DecidedAt, UsedAt                       *time.Time
	Previous                                string // ExpireApprovals only
}

func (r *approvalRecord) model() models.Approval {
	a := models.Approval{ID: r.ID, DepartmentID: r.DepartmentID, Department: r.Slug, DepartmentName: r.DepartmentName,
		Action: models.ApprovalAction(r.Action), Requester: r.Requester, RequesterName: r.RequesterName, Reason: r.Reason,
		State: models.ApprovalState(r.State), RequestedAt: r.RequestedAt, DecidedBy: r.DecidedBy, DeciderName: r.DeciderName,
		DecidedAt: r.DecidedAt, Note: r.Note, ExpiresAt: r.ExpiresAt, UsedAt: r.UsedAt}
	if r.Devices != "" {
		a.Devices = models.ParseCanonicalDevices(r.Devices)
	}
	return a
}

// approvalColumns are an approval's columns with its department's slug and
// name (a is approvals, d departments), for SELECT and RETURNING alike.
const approvalColumns = `a.id, a.department_id, d.slug, d.name AS department_name, a.action, a.devices, a.requester,
       a.requester_name, a.reason, a.state, a.requested_at, a.decided_by, a.decider_name, a.decided_at, a.note,
       a.expires_at, a.used_at`

const approvalSelect = `SELECT ` + approvalColumns + ` FROM approvals a JOIN departments d ON d.id = a.department_id`

func (db *DB) approvals(ctx context.Context, tx *Tx, q string, args ...any) ([]models.Approval, error) {
	var recs []approvalRecord
	if err := db.q(ctx, tx).Raw(q, args...).Scan(&recs).Error; err != nil {
		return nil, fmt.Errorf("read approvals: %w", err)
	}
	out := make([]models.Approval, len(recs))
	for i := range recs {
		out[i] = recs[i].model()
	}
	return out, nil
}

func (db *DB) oneApproval(ctx context.Context, tx *Tx, q string, args ...any) (models.Approval, bool, error) {
	list, err := db.approvals(ctx, tx, q, args...)
	if err != nil || len(list) == 0 {
		return models.Approval{}, false, err
	}
	return list[0], true, nil
}

// CreateApproval stores a new pending request (a.ID is ignored) and
// returns it with its id.
func (db *DB) CreateApproval(ctx context.Context, tx *Tx, a models.Approval) (models.Approval, error) {
	var id int64
	err := db.q(ctx, tx).Raw(`INSERT INTO approvals (department_id, action, devices, requester, requester_name, reason, state,
	       requested_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?) RETURNING id`,
		a.DepartmentID, string(a.Action), models.CanonicalDevices(a.Devices), a.Requester, a.RequesterName, a.Reason,
		a.RequestedAt, a.ExpiresAt).Scan(&id).Error
	if err != nil {
		return a, fmt.Errorf("create approval: %w", err)
	}
	a.ID, a.State = id, models.ApprovalPending
	return a, nil
}

// Approval reads approval id; ok is false when there is none.
func (db *DB) Approval(ctx context.Context, tx *Tx, id int64) (models.Approval, bool, error) {
	return db.oneApproval(ctx, tx, approvalSelect+" WHERE a.id = ?", id)
}

// LiveApproval is requester's newest request for action on department
// deptID (and exactly those devices) that is still pending or approved
// and not past its time at now.
func (db *DB) LiveApproval(ctx context.Context, tx *Tx, deptID int64, action models.ApprovalAction, devices []models.DeviceID, requester string, now time.Time) (models.Approval, bool, error) {
	return db.oneApproval(ctx, tx, approvalSelect+` WHERE a.department_id = ? AND a.action = ? AND a.devices = ? AND a.requester = ?
	   AND a.state IN ('pending', 'approved') AND a.expires_at > ? ORDER BY a.id DESC LIMIT 1`,
		deptID, string(action), models.CanonicalDevices(devices), requester, now)
}

// Decision is an approver's answer to a pending request.
type Decision struct {
	ID            int64
	Approve       bool
	Decider, Name string
	Note          string
	Now           time.Time
	// Until is when an approval stops being valid (approve only).
	Until time.Time
}

// DecideApproval approves or refuses request d.ID if, under its row lock,
// it is still pending, not past its time and not the decider's own; ok is
// false (and nothing changed) otherwise.
func (db *DB) DecideApproval(ctx context.Context, tx *Tx, d Decision) (models.Approval, bool, error) {
	state, expires := models.ApprovalRefused, d.Now
	if d.Approve {
		state, expires = models.ApprovalApproved, d.Until
	}
	// A refusal keeps expires_at = the decision's time: nothing is valid after it.
	return db.oneApproval(ctx, tx, `UPDATE approvals a SET state = ?, decided_by = ?, decider_name = ?, decided_at = ?, note = ?, expires_at = ?
	  FROM departments d WHERE d.id = a.department_id AND a.id = ? AND a.state = 'pending' AND a.expires_at > ? AND a.requester <> ?
	  RETURNING `+approvalColumns, string(state), d.Decider, d.Name, d.Now, d.Note, expires, d.ID, d.Now, d.Decider)
}

// Use is the one way an approval is spent: requester's approval id, for
// action on department deptID with exactly these devices, approved and
// within its window at now. ok is false (and nothing changed) otherwise.
type Use struct {
	ID, DepartmentID int64
	Action           models.ApprovalAction
	Devices          []models.DeviceID
	Requester        string
	Now              time.Time
}

// UseApproval marks the approval used in tx, under its row lock, if and
// only if it matches u in every respect.
func (db *DB) UseApproval(ctx context.Context, tx *Tx, u Use) (models.Approval, bool, error) {
	return db.oneApproval(ctx, tx, `UPDATE approvals a SET state = 'used', used_at = ?
	  FROM departments d WHERE d.id = a.department_id AND a.id = ? AND a.department_id = ? AND a.requester = ? AND a.action = ?
	   AND a.devices = ? AND a.state = 'approved' AND a.expires_at > ?
	  RETURNING `+approvalColumns,
		u.Now, u.ID, u.DepartmentID, u.Requester, string(u.Action), models.CanonicalDevices(u.Devices), u.Now)
}

// ExpiredApproval is an approval the sweep expired, with the state it had.
type ExpiredApproval struct {
	models.Approval
	Previous models.ApprovalState
}

// ExpireApprovals marks up to limit pending or approved requests past
// their time at now as expired, in tx. Rows another transaction holds are
// skipped (SKIP LOCKED), so two instances sweeping at once expire each
// row once.
func (db *DB) ExpireApprovals(ctx context.Context, tx *Tx, now time.Time, limit int) ([]ExpiredApproval, error) {
	var recs []approvalRecord
	err := db.q(ctx, tx).Raw(`WITH due AS (
	    SELECT id, state FROM approvals WHERE state IN ('pending', 'approved') AND expires_at <= ?
	     ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED)
	  UPDATE approvals a SET state = 'expired' FROM due, departments d
	   WHERE a.id = due.id AND d.id = a.department_id AND a.state IN ('pending', 'approved')
	  RETURNING `+approvalColumns+`, due.state AS previous`, now, limit).Scan(&recs).Error
	if err != nil {
		return nil, fmt.Errorf("expire approvals: %w", err)
	}
	out := make([]ExpiredApproval, len(recs))
	for i := range recs {
		out[i] = ExpiredApproval{Approval: recs[i].model(), Previous: models.ApprovalState(recs[i].Previous)}
	}
	return out, nil
}

// PendingApprovals lists requests waiting for a decision at now, oldest
// first, in the departments slugs (nil: every department), leaving out
// those of requester (nobody decides their own).
func (db *DB) PendingApprovals(ctx context.Context, slugs []string, requester string, now time.Time, limit int) ([]models.Approval, error) {
	q, args := approvalSelect+` WHERE a.state = 'pending' AND a.expires_at > ? AND a.requester <> ?`, []any{now, requester}
	if slugs != nil {
		q, args = q+` AND d.slug IN ?`, append(args, append(slugs, ""))
	}
	return db.approvals(ctx, nil, q+` ORDER BY a.id LIMIT ?`, append(args, limit)...)
}

// DecidedApprovals lists the decided requests of the departments slugs
// (nil: every department), the latest decision first.
func (db *DB) DecidedApprovals(ctx context.Context, slugs []string, limit int) ([]models.Approval, error) {
	q, args := approvalSelect+` WHERE a.decided_at IS NOT NULL`, []any{}
	if slugs != nil {
		q, args = q+` AND d.slug IN ?`, append(args, append(slugs, ""))
	}
	return db.approvals(ctx, nil, q+` ORDER BY a.decided_at DESC, a.id DESC LIMIT ?`, append(args, limit)...)
}

// ApprovalsOf lists requester's requests, newest first.
func (db *DB) ApprovalsOf(ctx context.Context, requester string, limit int) ([]models.Approval, error) {
	return db.approvals(ctx, nil, approvalSelect+` WHERE a.requester = ? ORDER BY a.id DESC LIMIT ?`, requester, limit)
}

// HasApprovals reports whether requester has any request at all.
func (db *DB) HasApprovals(ctx context.Context, requester string) (bool, error) {
	var has bool
	err := db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM approvals WHERE requester = $1)`, requester).Scan(&has)
	if err != nil {
		return false, fmt.Errorf("read approvals: %w", err)
	}
	return has, nil
}

// CountPendingApprovals is how many requests PendingApprovals would list
// with the same arguments, counted by Postgres: every page's navigation
// shows it to those who decide.
func (db *DB) CountPendingApprovals(ctx context.Context, slugs []string, requester string, now time.Time, limit int) (int, error) {
	var n int
	err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM approvals a JOIN departments d ON d.id = a.department_id
	 WHERE a.state = 'pending' AND a.expires_at > $1 AND a.requester <> $2 AND ($3::text[] IS NULL OR d.slug = ANY ($3))
	 LIMIT $4) x`, now, requester, slugs, limit).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count pending approvals: %w", err)
	}
	return n, nil
}
