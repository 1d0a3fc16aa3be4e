package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
)

// SealedKeyIDs counts the rows sealed under each master key ID, in every
// table with a key_id column (a table added later is covered by name).
func (db *DB) SealedKeyIDs(ctx context.Context) (map[string]int64, error) {
	rows, err := db.Pool.Query(ctx, `SELECT table_name FROM information_schema.columns
		WHERE table_schema = 'public' AND column_name = 'key_id' AND table_name <> 'key_checks'`)
	if err != nil {
		return nil, fmt.Errorf("sealed key IDs: %w", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("sealed key IDs: %w", err)
	}
	slices.Sort(tables)
	out := map[string]int64{}
	for _, t := range tables {
		rows, err := db.Pool.Query(ctx, `SELECT key_id, count(*) FROM `+pgx.Identifier{t}.Sanitize()+` GROUP BY key_id`)
		if err != nil {
			return nil, fmt.Errorf("sealed key IDs in %s: %w", t, err)
		}
		for rows.Next() {
			var id string
			var n int64
			if err := rows.Scan(&id, &n); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sealed key IDs in %s: %w", t, err)
			}
			out[id] += n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sealed key IDs in %s: %w", t, err)
		}
	}
	return out, nil
}

// KeyChecks reads the key-check value of each master key ID.
func (db *DB) KeyChecks(ctx context.Context) (map[string][]byte, error) {
	rows, err := db.Pool.Query(ctx, `SELECT key_id, check_value FROM key_checks`)
	if err != nil {
		return nil, fmt.Errorf("key checks: %w", err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var id string
		var v []byte
		if err := rows.Scan(&id, &v); err != nil {
			return nil, fmt.Errorf("key checks: %w", err)
		}
		out[id] = v
	}
	return out, rows.Err()
}

// AddKeyCheck records a key's check value unless one is recorded already.
func (db *DB) AddKeyCheck(ctx context.Context, keyID string, check []byte) error {
	_, err := db.Pool.Exec(ctx, `INSERT INTO key_checks (key_id, check_value) VALUES ($1, $2) ON CONFLICT (key_id) DO NOTHING`, keyID, check)
	if err != nil {
		return fmt.Errorf("add key check %s: %w", keyID, err)
	}
	return nil
}

// WrappedKey is a master key wrapped by a KMS key.
type WrappedKey struct {
	KeyID   string
	Wrapped string // base64 of the KMS's ciphertext
	KMS     string // the KMS key's URL, without its query
}

// WrappedKeys reads the KMS-wrapped master keys, current first.
func (db *DB) WrappedKeys(ctx context.Context) ([]WrappedKey, error) {
	return queryRows(ctx, db, "wrapped master keys", `SELECT key_id, wrapped, kms FROM master_keys ORDER BY position`,
		nil, func(r pgx.CollectableRow) (WrappedKey, error) {
			var w WrappedKey
			err := r.Scan(&w.KeyID, &w.Wrapped, &w.KMS)
			return w, err
		})
}

// SetWrappedKeys replaces the KMS-wrapped master keys (nil: none, the keys
// are plain again).
func (db *DB) SetWrappedKeys(ctx context.Context, keys []WrappedKey) error {
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("set wrapped master keys: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }() // after Commit: a no-op
	if _, err := tx.Exec(ctx, `DELETE FROM master_keys`); err != nil {
		return fmt.Errorf("set wrapped master keys: %w", err)
	}
	for i, k := range keys {
		if _, err := tx.Exec(ctx, `INSERT INTO master_keys (position, key_id, wrapped, kms) VALUES ($1, $2, $3, $4)`,
			i, k.KeyID, k.Wrapped, k.KMS); err != nil {
			return fmt.Errorf("set wrapped master keys: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("set wrapped master keys: %w", err)
	}
	return nil
}
