package store

import (
	"context"
	"errors"
	"time"

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
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

func (departmentRecord) TableName() string { return "departments" }

func (r *departmentRecord) model() models.Department {
	return models.Department{ID: r.ID, Slug: r.Slug, Name: r.Name, Protocol: models.Protocol(r.Protocol),
		MaxAgeDays: r.MaxAgeDays, ScheduleEnabled: r.ScheduleEnabled, RevealAllowed: r.RevealAllowed, CreatedAt: r.CreatedAt}
}

// CreateDepartment stores d in tx and returns it with its id.
func (db *DB) CreateDepartment(ctx context.Context, tx *Tx, d models.Department) (models.Department, error) {
	now := db.Now()
	rec := departmentRecord{Slug: d.Slug, Name: d.Name, Protocol: string(d.Protocol), MaxAgeDays: d.MaxAgeDays,
		ScheduleEnabled: d.ScheduleEnabled, RevealAllowed: d.RevealAllowed, CreatedAt: now, UpdatedAt: now}
	if err := tx.WithContext(ctx).Create(&rec).Error; err != nil {
		if isUniqueViolation(err) {
			return models.Department{}, models.Errorf(models.ErrConflict, "A department with the slug %q already exists.", d.Slug)
		}
		return models.Department{}, err
	}
	return rec.model(), nil
}

// UpdateDepartment saves the editable settings of d (by slug) in tx.
func (db *DB) UpdateDepartment(ctx context.Context, tx *Tx, d models.Department) error {
	res := tx.WithContext(ctx).Model(&departmentRecord{}).Where("slug = ?", d.Slug).Updates(map[string]any{
		"name": d.Name, "protocol": string(d.Protocol), "max_age_days": d.MaxAgeDays,
		"schedule_enabled": d.ScheduleEnabled, "reveal_allowed": d.RevealAllowed, "updated_at": db.Now(),
	})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return models.Errorf(models.ErrNotFound, "No department named %q.", d.Slug)
	}
	return nil
}

// Department returns the department with slug, or an ErrNotFound error.
func (db *DB) Department(ctx context.Context, slug string) (models.Department, error) {
	return db.departmentIn(ctx, &Tx{DB: db.Gorm}, slug)
}

func (db *DB) departmentIn(ctx context.Context, tx *Tx, slug string) (models.Department, error) {
	var rec departmentRecord
	err := tx.WithContext(ctx).Where("slug = ?", slug).Take(&rec).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return models.Department{}, models.Errorf(models.ErrNotFound, "No department named %q.", clipName(slug))
	}
	if err != nil {
		return models.Department{}, err
	}
	return rec.model(), nil
}

// Departments lists departments by name; slugs, when not nil, restricts the
// list to those.
func (db *DB) Departments(ctx context.Context, slugs []string) ([]models.Department, error) {
	q := db.Gorm.WithContext(ctx).Order("name, slug")
	if slugs != nil {
		q = q.Where("slug IN ?", append(slugs, ""))
	}
	var recs []departmentRecord
	if err := q.Find(&recs).Error; err != nil {
		return nil, err
	}
	out := make([]models.Department, len(recs))
	for i := range recs {
		out[i] = recs[i].model()
	}
	return out, nil
}

func clipName(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
