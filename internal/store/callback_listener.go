package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uwsportal/uwsportal/models"
)

// ListenerRow is the portal's CarrierService registration for one
// department's account: the password ThingSpace echoes, sealed.
type ListenerRow struct {
	DepartmentID   int64
	Department     string // slug
	AccountName    string
	URL            string
	Username       string
	KeyID          string
	PasswordSealed []byte
	RegisteredAt   time.Time
	RegisteredBy   string
}

const listenerSelect = `SELECT l.department_id, d.slug AS department, l.account_name, l.url, l.username, l.key_id,
       l.password_sealed, l.registered_at, l.registered_by
  FROM callback_listeners l JOIN departments d ON d.id = l.department_id`

func (db *DB) listener(ctx context.Context, tx *Tx, q string, args ...any) (ListenerRow, error) {
	var rows []ListenerRow
	if err := db.q(ctx, tx).Raw(q, args...).Scan(&rows).Error; err != nil {
		return ListenerRow{}, fmt.Errorf("read callback listener: %w", err)
	}
	if len(rows) == 0 {
		return ListenerRow{}, models.ErrNotFound
	}
	return rows[0], nil
}

// CallbackListener reads department slug's registration (ErrNotFound: none).
func (db *DB) CallbackListener(ctx context.Context, tx *Tx, slug string) (ListenerRow, error) {
	return db.listener(ctx, tx, listenerSelect+` WHERE d.slug = ?`, slug)
}

// CallbackListenerFor reads the registration for ThingSpace account
// (ErrNotFound: none).
func (db *DB) CallbackListenerFor(ctx context.Context, account string) (ListenerRow, error) {
	return db.listener(ctx, nil, listenerSelect+` WHERE l.account_name = ? ORDER BY l.registered_at DESC LIMIT 1`, account)
}

// CallbackListenerByUsername reads the registration whose username a
// callback carries (ErrNotFound: none).
func (db *DB) CallbackListenerByUsername(ctx context.Context, username string) (ListenerRow, error) {
	return db.listener(ctx, nil, listenerSelect+` WHERE l.username = ?`, username)
}

// PutCallbackListener stores (or replaces) a department's registration.
func (db *DB) PutCallbackListener(ctx context.Context, tx *Tx, l ListenerRow) error {
	err := db.q(ctx, tx).Exec(`INSERT INTO callback_listeners (department_id, account_name, url, username, key_id, password_sealed,
	       registered_at, registered_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (department_id) DO UPDATE SET account_name = excluded.account_name, url = excluded.url,
	       username = excluded.username, key_id = excluded.key_id, password_sealed = excluded.password_sealed,
	       registered_at = excluded.registered_at, registered_by = excluded.registered_by`,
		l.DepartmentID, l.AccountName, l.URL, l.Username, l.KeyID, l.PasswordSealed, l.RegisteredAt, l.RegisteredBy).Error
	if err != nil {
		return fmt.Errorf("store callback listener: %w", err)
	}
	return nil
}

// DeleteCallbackListener forgets department id's registration.
func (db *DB) DeleteCallbackListener(ctx context.Context, tx *Tx, departmentID int64) error {
	if err := db.q(ctx, tx).Exec(`DELETE FROM callback_listeners WHERE department_id = ?`, departmentID).Error; err != nil {
		return fmt.Errorf("delete callback listener: %w", err)
	}
	return nil
}

// SealedListener is one sealed listener password, for rekey: a
// department's (Department set) or an API client's (Client set).
type SealedListener struct {
	Department int64
	Client     string
	KeyID      string
	Sealed     []byte
}

// ListenersSealedBefore lists the listener passwords not sealed with key
// current, locked for tx.
func (db *DB) ListenersSealedBefore(ctx context.Context, tx *Tx, current string) ([]SealedListener, error) {
	var out []SealedListener
	err := db.q(ctx, tx).Raw(`SELECT department_id AS department, '' AS client, key_id, password_sealed AS sealed
	  FROM callback_listeners WHERE key_id <> ? FOR UPDATE`, current).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("read sealed listeners: %w", err)
	}
	var clients []SealedListener
	err = db.q(ctx, tx).Raw(`SELECT 0 AS department, client_id AS client, key_id, password_sealed AS sealed
	  FROM client_listeners WHERE password_sealed IS NOT NULL AND key_id <> ? FOR UPDATE`, current).Scan(&clients).Error
	if err != nil {
		return nil, fmt.Errorf("read sealed client listeners: %w", err)
	}
	return append(out, clients...), nil
}

// ResealListener stores l's password sealed anew.
func (db *DB) ResealListener(ctx context.Context, tx *Tx, l SealedListener) error {
	q := `UPDATE callback_listeners SET key_id = ?, password_sealed = ? WHERE department_id = ?`
	args := []any{l.KeyID, l.Sealed, l.Department}
	if l.Client != "" {
		q, args = `UPDATE client_listeners SET key_id = ?, password_sealed = ? WHERE client_id = ?`, []any{l.KeyID, l.Sealed, l.Client}
	}
	if err := db.q(ctx, tx).Exec(q, args...).Error; err != nil {
		return fmt.Errorf("reseal listener: %w", err)
	}
	return nil
}
