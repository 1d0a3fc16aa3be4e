package store

import (
	"context"
	"fmt"
	"time"
)

// SealedSession is a cached ThingSpace session token, encrypted.
type SealedSession struct {
	CredentialID int64
	Ciphertext   []byte
	KeyID        string
	UpdatedAt    time.Time
}

// CredentialID returns the id of department slug's credential.
func (db *DB) CredentialID(ctx context.Context, slug string) (int64, error) {
	var ids []int64
	err := db.Gorm.WithContext(ctx).Raw(
		"SELECT c.id FROM credentials c JOIN departments d ON d.id = c.department_id WHERE d.slug = ?", slug).Scan(&ids).Error
	if err != nil {
		return 0, fmt.Errorf("credential id of %s: %w", clipName(slug), err)
	}
	if len(ids) == 0 {
		return 0, errNoCredential(slug)
	}
	return ids[0], nil
}

// Session returns the cached session of credential id; ok is false if none.
// forUpdate (in tx) locks it, for compare-and-delete.
func (db *DB) Session(ctx context.Context, tx *Tx, credID int64, forUpdate bool) (s SealedSession, ok bool, err error) {
	if tx == nil {
		tx = &Tx{DB: db.Gorm}
	}
	q := "SELECT credential_id, ciphertext, key_id, updated_at FROM upstream_sessions WHERE credential_id = ?"
	if forUpdate {
		q += " FOR UPDATE"
	}
	var rows []SealedSession
	if err := tx.WithContext(ctx).Raw(q, credID).Scan(&rows).Error; err != nil {
		return SealedSession{}, false, fmt.Errorf("read session of credential %d: %w", credID, err)
	}
	if len(rows) == 0 {
		return SealedSession{}, false, nil
	}
	return rows[0], true, nil
}

// PutSession stores (or replaces) credential id's session.
func (db *DB) PutSession(ctx context.Context, s SealedSession) error {
	err := db.Gorm.WithContext(ctx).Exec(`INSERT INTO upstream_sessions (credential_id, ciphertext, key_id, updated_at)
	  VALUES (?, ?, ?, ?) ON CONFLICT (credential_id) DO UPDATE
	  SET ciphertext = EXCLUDED.ciphertext, key_id = EXCLUDED.key_id, updated_at = EXCLUDED.updated_at`,
		s.CredentialID, s.Ciphertext, s.KeyID, db.Now()).Error
	if err != nil {
		return fmt.Errorf("store session of credential %d: %w", s.CredentialID, err)
	}
	return nil
}

// DeleteSession forgets credential id's session.
func (db *DB) DeleteSession(ctx context.Context, tx *Tx, credID int64) error {
	if tx == nil {
		tx = &Tx{DB: db.Gorm}
	}
	if err := tx.WithContext(ctx).Exec("DELETE FROM upstream_sessions WHERE credential_id = ?", credID).Error; err != nil {
		return fmt.Errorf("drop session of credential %d: %w", credID, err)
	}
	return nil
}

// SealedRow is one ciphertext for the rekey command.
type SealedRow struct {
	ID         int64
	Ciphertext []byte
	KeyID      string
}

// SealedCredentials lists (and locks) credential ciphertexts not under keyID.
func (db *DB) SealedCredentials(ctx context.Context, tx *Tx, notKeyID string) ([]SealedRow, error) {
	var rows []SealedRow
	err := tx.WithContext(ctx).Raw("SELECT id, ciphertext, key_id FROM credentials WHERE key_id <> ? ORDER BY id FOR UPDATE", notKeyID).
		Scan(&rows).Error
	return rows, err
}

// SealedSessions lists (and locks) session ciphertexts not under keyID.
func (db *DB) SealedSessions(ctx context.Context, tx *Tx, notKeyID string) ([]SealedRow, error) {
	var rows []SealedRow
	err := tx.WithContext(ctx).Raw("SELECT credential_id AS id, ciphertext, key_id FROM upstream_sessions WHERE key_id <> ? ORDER BY credential_id FOR UPDATE", notKeyID).
		Scan(&rows).Error
	return rows, err
}

// Reseal replaces one ciphertext (table "credentials" or "upstream_sessions").
func (db *DB) Reseal(ctx context.Context, tx *Tx, table string, id int64, ciphertext []byte, keyID string) error {
	col := "id"
	switch table {
	case "credentials":
	case "upstream_sessions":
		col = "credential_id"
	default:
		return fmt.Errorf("reseal: unknown table %q", table)
	}
	return tx.WithContext(ctx).Exec("UPDATE "+table+" SET ciphertext = ?, key_id = ? WHERE "+col+" = ?", ciphertext, keyID, id).Error
}
