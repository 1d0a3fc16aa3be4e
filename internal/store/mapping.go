package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/uwsportal/uwsportal/models"
)

type mappingRecord struct {
	ID           int64
	GroupName    string
	Role         string
	DepartmentID *int64
	CreatedAt    time.Time
	CreatedBy    string
}

func (mappingRecord) TableName() string { return "group_mappings" }

// mappingRow is a mapping joined with its department's slug.
type mappingRow struct {
	ID        int64
	GroupName string
	Role      string
	CreatedAt time.Time
	CreatedBy string
	Slug      *string
}

// Mappings lists every group mapping with its department's slug.
func (db *DB) Mappings(ctx context.Context) ([]models.Mapping, error) {
	var rows []mappingRow
	err := db.q(ctx, nil).Table("group_mappings m").
		Select("m.id, m.group_name, m.role, m.created_at, m.created_by, d.slug").Joins("LEFT JOIN departments d ON d.id = m.department_id").
		Order("m.group_name, m.role, d.slug").Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]models.Mapping, len(rows))
	for i, r := range rows {
		out[i] = models.Mapping{ID: r.ID, Group: r.GroupName, Role: models.Role(r.Role), CreatedAt: r.CreatedAt, CreatedBy: r.CreatedBy}
		if r.Slug != nil {
			out[i].Department = *r.Slug
		}
	}
	return out, nil
}

// CreateMapping stores m in tx and returns its id.
func (db *DB) CreateMapping(ctx context.Context, tx *Tx, m models.Mapping) (int64, error) {
	rec := mappingRecord{GroupName: m.Group, Role: string(m.Role), CreatedBy: m.CreatedBy, CreatedAt: db.Now()}
	if m.Department != "" {
		d, err := db.departmentIn(ctx, tx, m.Department)
		if err != nil {
			return 0, err
		}
		rec.DepartmentID = &d.ID
	}
	if err := db.q(ctx, tx).Create(&rec).Error; err != nil {
		if isUniqueViolation(err) {
			return 0, models.Errorf(models.ErrConflict, "That mapping already exists.")
		}
		return 0, err
	}
	return rec.ID, nil
}

// DeleteMapping removes a mapping in tx and returns what it was.
func (db *DB) DeleteMapping(ctx context.Context, tx *Tx, id int64) (models.Mapping, error) {
	var row mappingRow
	err := db.q(ctx, tx).Table("group_mappings m").Select("m.id, m.group_name, m.role, m.created_at, m.created_by, d.slug").
		Joins("LEFT JOIN departments d ON d.id = m.department_id").Where("m.id = ?", id).Scan(&row).Error
	if err != nil {
		return models.Mapping{}, err
	}
	if row.ID == 0 {
		return models.Mapping{}, models.Errorf(models.ErrNotFound, "No such mapping.")
	}
	if err := db.q(ctx, tx).Delete(&mappingRecord{}, id).Error; err != nil {
		return models.Mapping{}, err
	}
	m := models.Mapping{ID: row.ID, Group: row.GroupName, Role: models.Role(row.Role)}
	if row.Slug != nil {
		m.Department = *row.Slug
	}
	return m, nil
}

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// RecomputeGrants recomputes, in tx, the grants of every IdP user in group
// from the groups stored at their last sign-in (or groups refresh) and the
// mappings as they are in tx, so a mapping change reaches signed-in people
// at once. Break-glass accounts keep their fixed grant.
func (db *DB) RecomputeGrants(ctx context.Context, tx *Tx, adminGroups []string, group string) error {
	var rows []mappingRow
	err := db.q(ctx, tx).Table("group_mappings m").
		Select("m.id, m.group_name, m.role, m.created_at, m.created_by, d.slug").Joins("LEFT JOIN departments d ON d.id = m.department_id").
		Scan(&rows).Error
	if err != nil {
		return err
	}
	mappings := make([]models.Mapping, len(rows))
	for i, r := range rows {
		mappings[i] = models.Mapping{ID: r.ID, Group: r.GroupName, Role: models.Role(r.Role)}
		if r.Slug != nil {
			mappings[i].Department = *r.Slug
		}
	}
	var users []userRecord
	err = db.q(ctx, tx).Select("id", "groups").Where("issuer <> ? AND groups @> jsonb_build_array(?::text)", models.IssuerLocal, group).
		Find(&users).Error
	if err != nil {
		return err
	}
	for _, u := range users {
		if err := db.replaceGrants(ctx, tx, u.ID, models.GrantsFor(u.Groups, mappings, adminGroups)); err != nil {
			return fmt.Errorf("grants of user %d: %w", u.ID, err)
		}
	}
	return nil
}
