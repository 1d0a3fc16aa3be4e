package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uwsportal/uwsportal/models"
)

// ClientListenerRow is an API client's own callback listener.
type ClientListenerRow struct {
	ClientID       string
	ServiceName    string
	URL            string
	Username       string
	KeyID          string
	PasswordSealed []byte // nil: no password
	CreatedAt      time.Time
}

// ClientListener reads client's listener (ErrNotFound: none).
func (db *DB) ClientListener(ctx context.Context, tx *Tx, client string) (ClientListenerRow, error) {
	var rows []ClientListenerRow
	err := db.q(ctx, tx).Raw(`SELECT client_id, service_name, url, username, key_id, password_sealed, created_at
	  FROM client_listeners WHERE client_id = ?`, client).Scan(&rows).Error
	if err != nil {
		return ClientListenerRow{}, fmt.Errorf("read client listener: %w", err)
	}
	if len(rows) == 0 {
		return ClientListenerRow{}, models.ErrNotFound
	}
	return rows[0], nil
}

// PutClientListener stores or replaces client's listener.
func (db *DB) PutClientListener(ctx context.Context, tx *Tx, l ClientListenerRow) error {
	err := db.q(ctx, tx).Exec(`INSERT INTO client_listeners (client_id, service_name, url, username, key_id, password_sealed, created_at)
	VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (client_id) DO UPDATE SET service_name = excluded.service_name, url = excluded.url,
	       username = excluded.username, key_id = excluded.key_id, password_sealed = excluded.password_sealed, created_at = excluded.created_at`,
		l.ClientID, l.ServiceName, l.URL, l.Username, l.KeyID, l.PasswordSealed, l.CreatedAt).Error
	if err != nil {
		return fmt.Errorf("store client listener: %w", err)
	}
	return nil
}

// DeleteClientListener removes client's listener; false if it had none.
func (db *DB) DeleteClientListener(ctx context.Context, tx *Tx, client string) (bool, error) {
	res := db.q(ctx, tx).Exec(`DELETE FROM client_listeners WHERE client_id = ?`, client)
	if res.Error != nil {
		return false, fmt.Errorf("delete client listener: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// QueueClientCallback queues the outcome of request for its client, if
// the client has a listener; once per client and request.
func (db *DB) QueueClientCallback(ctx context.Context, tx *Tx, client string, request int64, now time.Time) (bool, error) {
	res := db.q(ctx, tx).Exec(queueClientCallback, client, request, now)
	if res.Error != nil {
		return false, fmt.Errorf("queue client callback: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// queueClientCallback queues request's outcome for client ($1), if it has
// a listener.
const queueClientCallback = `INSERT INTO client_callbacks (client_id, request, next_at, created_at)
	SELECT $1, $2, $3, $3 WHERE EXISTS (SELECT 1 FROM client_listeners WHERE client_id = $1)
	ON CONFLICT (client_id, request) DO NOTHING`

// ClientCallback is one queued message to a client's listener.
type ClientCallback struct {
	ID        int64
	ClientID  string
	Request   int64
	Attempts  int
	CreatedAt time.Time
}

// ClaimClientCallbacks leases the messages due at now (SKIP LOCKED: each
// is sent by one instance at a time) and counts the attempt.
func (db *DB) ClaimClientCallbacks(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]ClientCallback, error) {
	var out []ClientCallback
	err := db.q(ctx, nil).Raw(`UPDATE client_callbacks c SET claimed_until = ?, attempts = c.attempts + 1
	  FROM (SELECT id FROM client_callbacks WHERE state = 'pending' AND next_at <= ?
	          AND (claimed_until IS NULL OR claimed_until < ?) ORDER BY next_at LIMIT ? FOR UPDATE SKIP LOCKED) due
	 WHERE c.id = due.id
	RETURNING c.id, c.client_id, c.request, c.attempts, c.created_at`, now.Add(lease), now, now, limit).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("claim client callbacks: %w", err)
	}
	return out, nil
}

// ClientCallbackDone records a delivery's result, only if the row is still
// the caller's claim (same attempt): sent, failed for good, or a retry at next.
func (db *DB) ClientCallbackDone(ctx context.Context, id int64, attempt int, state string, next time.Time, lastErr string) error {
	err := db.q(ctx, nil).Exec(`UPDATE client_callbacks SET state = ?, next_at = ?, last_error = ?, claimed_until = NULL
	 WHERE id = ? AND attempts = ? AND state = 'pending'`, state, next, models.Clip(lastErr, 300), id, attempt).Error
	if err != nil {
		return fmt.Errorf("record client callback %d: %w", id, err)
	}
	return nil
}

// ClientDeviceRequest reads the request ThingSpace knows as rid if client
// made it; false otherwise (another client's request is not found).
func (db *DB) ClientDeviceRequest(ctx context.Context, client, rid string) (models.DeviceRequest, bool, error) {
	return db.oneRequest(ctx, nil, requestSelect+` WHERE r.request_id = ? AND r.client_id = ?`, rid, client)
}
