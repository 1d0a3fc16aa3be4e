package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/uwsportal/uwsportal/models"
)

type userRecord struct {
	ID           int64
	Issuer       string
	Subject      string
	Name         string
	Email        string
	Groups       []string `gorm:"serializer:json"`
	Disabled     bool
	CreatedAt    time.Time
	LastSigninAt *time.Time
}

func (userRecord) TableName() string { return "users" }

type grantRecord struct {
	UserID     int64
	Role       string
	Department string
}

func (grantRecord) TableName() string { return "user_grants" }

func (r *userRecord) model(grants []models.Grant) models.User {
	return models.User{ID: r.ID, Issuer: r.Issuer, Subject: r.Subject, Name: r.Name, Email: r.Email,
		Groups: r.Groups, Disabled: r.Disabled, CreatedAt: r.CreatedAt, LastSignIn: r.LastSigninAt, Grants: grants}
}

// UpsertSignIn creates or refreshes the user keyed by issuer and subject and
// replaces their grants, in tx. It returns the stored user.
func (db *DB) UpsertSignIn(ctx context.Context, tx *Tx, u models.User, at time.Time) (models.User, error) {
	if u.Groups == nil {
		u.Groups = []string{}
	}
	rec := userRecord{Issuer: u.Issuer, Subject: u.Subject, Name: u.Name, Email: u.Email, Groups: u.Groups, LastSigninAt: &at, CreatedAt: at}
	err := db.q(ctx, tx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "issuer"}, {Name: "subject"}},
		DoUpdates: clause.AssignmentColumns([]string{"name", "email", "groups", "last_signin_at"}),
	}).Create(&rec).Error
	if err != nil {
		return models.User{}, err
	}
	// ON CONFLICT DO UPDATE does not return the old flags: read them back.
	if err := db.q(ctx, tx).Where("issuer = ? AND subject = ?", u.Issuer, u.Subject).Take(&rec).Error; err != nil {
		return models.User{}, err
	}
	if err := db.replaceGrants(ctx, tx, rec.ID, u.Grants); err != nil {
		return models.User{}, err
	}
	return rec.model(u.Grants), nil
}

func (db *DB) replaceGrants(ctx context.Context, tx *Tx, userID int64, grants []models.Grant) error {
	if err := db.q(ctx, tx).Where("user_id = ?", userID).Delete(&grantRecord{}).Error; err != nil {
		return err
	}
	if len(grants) == 0 {
		return nil
	}
	recs := make([]grantRecord, len(grants))
	for i, g := range grants {
		recs[i] = grantRecord{UserID: userID, Role: string(g.Role), Department: g.Department}
	}
	return db.q(ctx, tx).Create(&recs).Error
}

// principalSelect reads a user and their grants (a WHERE and GROUP BY
// u.id follow).
const principalSelect = `SELECT u.id, u.issuer, u.name, u.email, u.disabled,
       coalesce(array_agg(g.role) FILTER (WHERE g.role IS NOT NULL), '{}') AS roles,
       coalesce(array_agg(g.department) FILTER (WHERE g.role IS NOT NULL), '{}') AS depts
  FROM users u LEFT JOIN user_grants g ON g.user_id = u.id`

// principalQuery loads a user and their grants in one round trip.
const principalQuery = principalSelect + ` WHERE u.id = $1 GROUP BY u.id`

// SessionUser returns what a signed-in request needs of a user (no
// groups), or an ErrNotFound error.
func (db *DB) SessionUser(ctx context.Context, id int64) (models.User, error) {
	var u models.User
	var roles, depts []string
	err := db.Pool.QueryRow(ctx, principalQuery, id).Scan(&u.ID, &u.Issuer, &u.Name, &u.Email, &u.Disabled, &roles, &depts)
	if errors.Is(err, pgx.ErrNoRows) {
		return models.User{}, models.Errorf(models.ErrNotFound, "No such user.")
	}
	if err != nil {
		return models.User{}, err
	}
	u.Grants = grantsOf(roles, depts)
	return u, nil
}

// grantsOf pairs principalSelect's roles and departments into grants.
func grantsOf(roles, depts []string) []models.Grant {
	var out []models.Grant
	for i := range roles {
		out = append(out, models.Grant{Role: models.Role(roles[i]), Department: depts[i]})
	}
	return out
}

// User returns a user with their grants, or an ErrNotFound error.
func (db *DB) User(ctx context.Context, id int64) (models.User, error) {
	var rec userRecord
	err := db.q(ctx, nil).Take(&rec, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return models.User{}, models.Errorf(models.ErrNotFound, "No such user.")
	}
	if err != nil {
		return models.User{}, err
	}
	grants, err := db.grants(ctx, id)
	if err != nil {
		return models.User{}, err
	}
	return rec.model(grants), nil
}

func (db *DB) grants(ctx context.Context, userID int64) ([]models.Grant, error) {
	var recs []grantRecord
	if err := db.q(ctx, nil).Where("user_id = ?", userID).Order("role, department").Find(&recs).Error; err != nil {
		return nil, err
	}
	out := make([]models.Grant, len(recs))
	for i, r := range recs {
		out[i] = models.Grant{Role: models.Role(r.Role), Department: r.Department}
	}
	return out, nil
}

// Contacts lists, most recent sign-in first, at most limit users' names
// and email addresses (those that have one): no grants, one round trip.
func (db *DB) Contacts(ctx context.Context, limit int) ([]models.User, error) {
	return queryRows(ctx, db, "list contacts", `SELECT name, email FROM users WHERE email <> '' ORDER BY last_signin_at DESC NULLS LAST, id LIMIT $1`,
		[]any{limit}, func(r pgx.CollectableRow) (models.User, error) {
			var u models.User
			err := r.Scan(&u.Name, &u.Email)
			return u, err
		})
}

// Users lists every user with their grants, most recent sign-in first.
func (db *DB) Users(ctx context.Context) ([]models.User, error) {
	var recs []userRecord
	if err := db.q(ctx, nil).Order("last_signin_at DESC NULLS LAST, id").Find(&recs).Error; err != nil {
		return nil, err
	}
	var grants []grantRecord
	if err := db.q(ctx, nil).Order("role, department").Find(&grants).Error; err != nil {
		return nil, err
	}
	by := map[int64][]models.Grant{}
	for _, g := range grants {
		by[g.UserID] = append(by[g.UserID], models.Grant{Role: models.Role(g.Role), Department: g.Department})
	}
	out := make([]models.User, len(recs))
	for i := range recs {
		out[i] = recs[i].model(by[recs[i].ID])
	}
	return out, nil
}

// SetUserDisabled flips a user's disabled flag in tx.
func (db *DB) SetUserDisabled(ctx context.Context, tx *Tx, id int64, disabled bool) error {
	res := db.q(ctx, tx).Model(&userRecord{}).Where("id = ?", id).Update("disabled", disabled)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return models.Errorf(models.ErrNotFound, "No such user.")
	}
	return nil
}

// Admins lists the enabled users holding the admin role, for the "whom to
// ask" text on the no-access page.
func (db *DB) Admins(ctx context.Context) ([]models.User, error) {
	var recs []userRecord
	err := db.q(ctx, nil).Where("NOT disabled AND issuer <> ? AND id IN (SELECT user_id FROM user_grants WHERE role = 'admin')", models.IssuerLocal).
		Order("name").Limit(10).Find(&recs).Error
	out := make([]models.User, len(recs))
	for i := range recs {
		out[i] = recs[i].model(nil)
	}
	return out, err
}

// SetGroups stores the groups the IdP gave a user on a refresh, and the
// grants computed from them, in tx.
func (db *DB) SetGroups(ctx context.Context, tx *Tx, id int64, groups []string, grants []models.Grant) error {
	if groups == nil {
		groups = []string{}
	}
	res := db.q(ctx, tx).Model(&userRecord{ID: id}).Select("groups").Updates(&userRecord{Groups: groups})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return models.Errorf(models.ErrNotFound, "No such user.")
	}
	return db.replaceGrants(ctx, tx, id, grants)
}
