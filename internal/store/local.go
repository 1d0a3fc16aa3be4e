package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/uwsportal/uwsportal/models"
)

type localAccountRecord struct {
	Username     string `gorm:"primaryKey"`
	PasswordHash string
	UserID       int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

func (localAccountRecord) TableName() string { return "local_accounts" }

// LocalAccount is a break-glass account's stored hash and user.
type LocalAccount struct {
	Username     string
	PasswordHash string
	UserID       int64
}

// LocalAccount returns the account named username, or an ErrNotFound error.
func (db *DB) LocalAccount(ctx context.Context, username string) (LocalAccount, error) {
	var rec localAccountRecord
	err := db.q(ctx, nil).Where("username = ?", username).Take(&rec).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return LocalAccount{}, models.Errorf(models.ErrNotFound, "No such account.")
	}
	return LocalAccount{Username: rec.Username, PasswordHash: rec.PasswordHash, UserID: rec.UserID}, err
}

// SaveLocalAccount creates or replaces a break-glass admin in tx: its user
// row (issuer "local") with the admin grant, and its password hash.
func (db *DB) SaveLocalAccount(ctx context.Context, tx *Tx, username, hash string) (created bool, err error) {
	now := db.Now()
	u, err := db.UpsertSignIn(ctx, tx, models.User{Issuer: models.IssuerLocal, Subject: username, Name: username + " (break-glass)",
		Grants: []models.Grant{{Role: models.RoleAdmin}}}, now)
	if err != nil {
		return false, err
	}
	res := db.q(ctx, tx).Model(&localAccountRecord{}).Where("username = ?", username).
		Updates(map[string]any{"password_hash": hash, "updated_at": now})
	if res.Error != nil {
		return false, res.Error
	}
	if res.RowsAffected > 0 {
		return false, nil
	}
	return true, db.q(ctx, tx).Create(&localAccountRecord{Username: username, PasswordHash: hash, UserID: u.ID, CreatedAt: now, UpdatedAt: now}).Error
}
