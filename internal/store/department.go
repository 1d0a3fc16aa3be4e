package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/uwsportal/uwsportal/models"
)

type departmentRecord struct {
	ID              int64
	Slug            string
	Name            string
	Protocol        string
	MaxAgeDays      int
	ScheduleEnabled bool
	RevealAllowed   bool
	AccountName     string
	// Dual control (00011_approvals.sql).
	ApproveReveal     bool
	ApproveDeactivate bool
	ApproveRotate     bool
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

func (departmentRecord) TableName() string { return "departments" }

func (r *departmentRecord) model() models.Department {
	return models.Department{ID: r.ID, Slug: r.Slug, Name: r.Name, Protocol: models.Protocol(r.Protocol),
		MaxAgeDays: r.MaxAgeDays, ScheduleEnabled: r.ScheduleEnabled, RevealAllowed: r.RevealAllowed, AccountName: r.AccountName, CreatedAt: r.CreatedAt,
		Approvals: models.ApprovalRules{Reveal: r.ApproveReveal, Deactivate: r.ApproveDeactivate, Rotate: r.ApproveRotate}}
}

// CreateDepartment stores d in tx and returns it with its id.
func (db *DB) CreateDepartment(ctx context.Context, tx *Tx, d models.Department) (models.Department, error) {
	now := db.Now()
	rec := departmentRecord{Slug: d.Slug, Name: d.Name, Protocol: string(d.Protocol), MaxAgeDays: d.MaxAgeDays,
		ScheduleEnabled: d.ScheduleEnabled, RevealAllowed: d.RevealAllowed, AccountName: d.AccountName, CreatedAt: now, UpdatedAt: now,
		ApproveReveal: d.Approvals.Reveal, ApproveDeactivate: d.Approvals.Deactivate, ApproveRotate: d.Approvals.Rotate}
	if err := db.q(ctx, tx).Create(&rec).Error; err != nil {
		if isUniqueViolation(err) {
			return models.Department{}, models.Errorf(models.ErrConflict, "A department with the slug %q already exists.", d.Slug)
		}
		return models.Department{}, err
	}
	if err := db.SetDevicePolicy(ctx, tx, rec.ID, models.DefaultDevicePolicy()); err != nil {
		return models.Department{}, err
	}
	return rec.model(), nil
}

// UpdateDepartmentSettings writes only the settings fields of department
// slug, and returns the department as it was before (read under a row
// lock, so the caller's audit of what changed is exact).
func (db *DB) UpdateDepartmentSettings(ctx context.Context, tx *Tx, slug string, set models.DepartmentSettings) (before models.Department, err error) {
	if before, err = db.lockDepartment(ctx, tx, slug); err != nil {
		return before, err
	}
	err = db.q(ctx, tx).Model(&departmentRecord{}).Where("slug = ?", slug).Updates(map[string]any{
		"name": set.Name, "protocol": string(set.Protocol), "reveal_allowed": set.RevealAllowed, "account_name": set.AccountName,
		"approve_reveal": set.Approvals.Reveal, "approve_deactivate": set.Approvals.Deactivate, "approve_rotate": set.Approvals.Rotate,
		"updated_at": db.Now(),
	}).Error
	return before, err
}

// SetDepartmentSchedule writes only the schedule fields of department slug
// (maxAgeDays 0 keeps the current maximum age) and returns the department
// after the change.
func (db *DB) SetDepartmentSchedule(ctx context.Context, tx *Tx, slug string, enabled bool, maxAgeDays int) (models.Department, error) {
	d, err := db.lockDepartment(ctx, tx, slug)
	if err != nil {
		return d, err
	}
	if maxAgeDays != 0 {
		d.MaxAgeDays = maxAgeDays
	}
	d.ScheduleEnabled = enabled
	err = db.q(ctx, tx).Model(&departmentRecord{}).Where("slug = ?", slug).Updates(map[string]any{
		"schedule_enabled": enabled, "max_age_days": d.MaxAgeDays, "updated_at": db.Now(),
	}).Error
	return d, err
}

func (db *DB) lockDepartment(ctx context.Context, tx *Tx, slug string) (models.Department, error) {
	var rec departmentRecord
	err := db.q(ctx, tx).Raw("SELECT * FROM departments WHERE slug = ? FOR UPDATE", slug).Scan(&rec).Error
	if err != nil {
		return models.Department{}, err
	}
	if rec.ID == 0 {
		return models.Department{}, models.Errorf(models.ErrNotFound, "No department named %q.", models.ClipMark(slug, 64))
	}
	return rec.model(), nil
}

// Department returns the department with slug, or an ErrNotFound error.
func (db *DB) Department(ctx context.Context, slug string) (models.Department, error) {
	return db.departmentIn(ctx, nil, slug)
}

func (db *DB) departmentIn(ctx context.Context, tx *Tx, slug string) (models.Department, error) {
	var rec departmentRecord
	err := db.q(ctx, tx).Where("slug = ?", slug).Take(&rec).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return models.Department{}, models.Errorf(models.ErrNotFound, "No department named %q.", models.ClipMark(slug, 64))
	}
	if err != nil {
		return models.Department{}, err
	}
	return rec.model(), nil
}

// Departments lists departments by name; slugs, when not nil, restricts the
// list to those.
func (db *DB) Departments(ctx context.Context, slugs []string) ([]models.Department, error) {
	return queryRows(ctx, db, "list departments", `SELECT id, slug, name, protocol, max_age_days, schedule_enabled, reveal_allowed,
	       account_name, approve_reveal, approve_deactivate, approve_rotate, created_at, updated_at
	  FROM departments WHERE $1::text[] IS NULL OR slug = ANY ($1) ORDER BY name, slug`,
		[]any{slugs}, func(row pgx.CollectableRow) (models.Department, error) {
			var r departmentRecord
			err := row.Scan(&r.ID, &r.Slug, &r.Name, &r.Protocol, &r.MaxAgeDays, &r.ScheduleEnabled, &r.RevealAllowed,
				&r.AccountName, &r.ApproveReveal, &r.ApproveDeactivate, &r.ApproveRotate, &r.CreatedAt, &r.UpdatedAt)
			return r.model(), err
		})
}

// SetDepartmentAccount writes only department slug's ThingSpace account
// name and returns the one it replaced.
func (db *DB) SetDepartmentAccount(ctx context.Context, tx *Tx, slug, account string) (string, error) {
	d, err := db.lockDepartment(ctx, tx, slug)
	if err != nil {
		return "", err
	}
	err = db.q(ctx, tx).Model(&departmentRecord{}).Where("slug = ?", slug).
		Updates(map[string]any{"account_name": account, "updated_at": db.Now()}).Error
	return d.AccountName, err
}

// SetDepartmentApprovals writes only department slug's dual-control
// settings and returns the ones they replaced.
func (db *DB) SetDepartmentApprovals(ctx context.Context, tx *Tx, slug string, rules models.ApprovalRules) (models.ApprovalRules, error) {
	d, err := db.lockDepartment(ctx, tx, slug)
	if err != nil {
		return d.Approvals, err
	}
	err = db.q(ctx, tx).Model(&departmentRecord{}).Where("slug = ?", slug).Updates(map[string]any{
		"approve_reveal": rules.Reveal, "approve_deactivate": rules.Deactivate, "approve_rotate": rules.Rotate, "updated_at": db.Now(),
	}).Error
	return d.Approvals, err
}
