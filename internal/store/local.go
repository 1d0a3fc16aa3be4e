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

// RecordLoginFailure notes a failed break-glass attempt.
func (db *DB) RecordLoginFailure(ctx context.Context, tx *Tx, username, ip string) error {
	return db.q(ctx, tx).Exec("INSERT INTO login_failures (username, source_ip, failed_at) VALUES (?, ?, ?)", username, ip, db.Now()).Error
}

// LoginFailures counts failed attempts since t for a username and for an
// address.
func (db *DB) LoginFailures(ctx context.Context, username, ip string, since time.Time) (byUser, byIP int, err error) {
	err = db.Pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM login_failures WHERE username = $1 AND failed_at >= $3),
		(SELECT count(*) FROM login_failures WHERE source_ip = $2 AND failed_at >= $3)`, username, ip, since).Scan(&byUser, &byIP)
	return byUser, byIP, err
}

// ClearLoginFailures forgets a user's failures after a successful sign-in.
func (db *DB) ClearLoginFailures(ctx context.Context, tx *Tx, username string) error {
	return db.q(ctx, tx).Exec("DELETE FROM login_failures WHERE username = ?", username).Error
}
