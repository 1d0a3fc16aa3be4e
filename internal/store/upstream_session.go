package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uwsportal/uwsportal/models"
)

// SealedSession is a cached ThingSpace session token, encrypted.
type SealedSession struct {
	Username   string
	Ciphertext []byte
	KeyID      string
	UpdatedAt  time.Time
}

// Session returns the cached session of username's account; ok is false if
// none. forUpdate (in tx) locks it, for compare-and-delete.
func (db *DB) Session(ctx context.Context, tx *Tx, username string, forUpdate bool) (s SealedSession, ok bool, err error) {
	q := "SELECT username, ciphertext, key_id, updated_at FROM upstream_sessions WHERE username = $1"
	if forUpdate {
		q += " FOR UPDATE"
	}
	err = db.row(tx)(ctx, q, AccountKey(username)).Scan(&s.Username, &s.Ciphertext, &s.KeyID, &s.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return SealedSession{}, false, nil
	}
	if err != nil {
		return SealedSession{}, false, fmt.Errorf("read session of %s: %w", models.ClipMark(username, 64), err)
	}
	return s, true, nil
}

// PutSession stores (or replaces) an account's session, in tx (nil: alone).
func (db *DB) PutSession(ctx context.Context, tx *Tx, s SealedSession) error {
	if err := db.ensureAccount(ctx, tx, s.Username); err != nil {
		return err
	}
	err := db.q(ctx, tx).Exec(`INSERT INTO upstream_sessions (username, ciphertext, key_id, updated_at)
	  VALUES (?, ?, ?, ?) ON CONFLICT (username) DO UPDATE
	  SET ciphertext = EXCLUDED.ciphertext, key_id = EXCLUDED.key_id, updated_at = EXCLUDED.updated_at`,
		AccountKey(s.Username), s.Ciphertext, s.KeyID, db.Now()).Error
	if err != nil {
		return fmt.Errorf("store session of %s: %w", models.ClipMark(s.Username, 64), err)
	}
	return nil
}

// DeleteSession forgets an account's session.
func (db *DB) DeleteSession(ctx context.Context, tx *Tx, username string) error {
	if err := db.q(ctx, tx).Exec("DELETE FROM upstream_sessions WHERE username = ?", AccountKey(username)).Error; err != nil {
		return fmt.Errorf("drop session of %s: %w", models.ClipMark(username, 64), err)
	}
	return nil
}

// SealedRow is one ciphertext for the rekey command.
type SealedRow struct {
	ID         int64  // credentials
	Key        string // upstream_sessions
	Ciphertext []byte
	KeyID      string
}

// SealedCredentials lists (and locks) credential ciphertexts not under keyID.
func (db *DB) SealedCredentials(ctx context.Context, tx *Tx, notKeyID string) ([]SealedRow, error) {
	var rows []SealedRow
	err := db.q(ctx, tx).Raw("SELECT id, ciphertext, key_id FROM credentials WHERE key_id <> ? ORDER BY id FOR UPDATE", notKeyID).
		Scan(&rows).Error
	return rows, err
}

// SealedSessions lists (and locks) session ciphertexts not under keyID.
func (db *DB) SealedSessions(ctx context.Context, tx *Tx, notKeyID string) ([]SealedRow, error) {
	var rows []SealedRow
	err := db.q(ctx, tx).Raw("SELECT username AS key, ciphertext, key_id FROM upstream_sessions WHERE key_id <> ? ORDER BY username FOR UPDATE", notKeyID).
		Scan(&rows).Error
	return rows, err
}

// ResealCredential replaces credential id's ciphertext.
func (db *DB) ResealCredential(ctx context.Context, tx *Tx, id int64, ciphertext []byte, keyID string) error {
	return db.q(ctx, tx).Exec("UPDATE credentials SET ciphertext = ?, key_id = ? WHERE id = ?", ciphertext, keyID, id).Error
}

// ResealSession replaces an account's session ciphertext.
func (db *DB) ResealSession(ctx context.Context, tx *Tx, username string, ciphertext []byte, keyID string) error {
	return db.q(ctx, tx).Exec("UPDATE upstream_sessions SET ciphertext = ?, key_id = ? WHERE username = ?", ciphertext, keyID, username).Error
}
