package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/uwsportal/uwsportal/models"
)

// ChannelRow is a notification channel as stored: its target and signing
// secret sealed under the master key.
type ChannelRow struct {
	ID                  int64
	Kind                models.ChannelKind
	KeyID               string
	TargetSealed        []byte
	SecretSealed        []byte // webhook only
	TargetShown         string
	DepartmentID        *int64
	Department          string // slug; "" for portal-wide
	Events              []string
	CreatedBy           string
	CreatedAt           time.Time
	ConsecutiveFailures int
	LastError           string
	LastFailureAt       *time.Time
	LastSuccessAt       *time.Time
}

const channelSelect = `
SELECT c.id, c.kind, c.key_id, c.target_sealed, c.secret_sealed, c.target_shown, c.department_id,
       coalesce(d.slug, ''), c.events, c.created_by, c.created_at, c.consecutive_failures, c.last_error,
       c.last_failure_at, c.last_success_at
  FROM notify_channels c LEFT JOIN departments d ON d.id = c.department_id`

func scanChannel(row scanner) (ChannelRow, error) {
	var c ChannelRow
	var kind string
	err := row.Scan(&c.ID, &kind, &c.KeyID, &c.TargetSealed, &c.SecretSealed, &c.TargetShown, &c.DepartmentID,
		&c.Department, &c.Events, &c.CreatedBy, &c.CreatedAt, &c.ConsecutiveFailures, &c.LastError,
		&c.LastFailureAt, &c.LastSuccessAt)
	c.Kind = models.ChannelKind(kind)
	return c, err
}

// NextChannelID reserves the id of a channel about to be created: its
// sealed target is bound to it.
func (db *DB) NextChannelID(ctx context.Context, tx *Tx) (int64, error) {
	var id int64
	err := tx.g.Statement.ConnPool.QueryRowContext(ctx, `SELECT nextval('notify_channels_id_seq')`).Scan(&id)
	return id, err
}

// CreateChannel inserts c (its id from NextChannelID).
func (db *DB) CreateChannel(ctx context.Context, tx *Tx, c ChannelRow) error {
	_, err := tx.g.Statement.ConnPool.ExecContext(ctx, `INSERT INTO notify_channels
	  (id, kind, key_id, target_sealed, secret_sealed, target_shown, department_id, events, created_by, created_at)
	  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		c.ID, string(c.Kind), c.KeyID, c.TargetSealed, c.SecretSealed, c.TargetShown, c.DepartmentID,
		nonNil(c.Events), c.CreatedBy, c.CreatedAt)
	if err != nil {
		return fmt.Errorf("create notification channel: %w", err)
	}
	return nil
}

// Channels lists every channel, portal-wide ones first.
func (db *DB) Channels(ctx context.Context) ([]ChannelRow, error) {
	rows, err := db.Pool.Query(ctx, channelSelect+` ORDER BY c.department_id NULLS FIRST, c.id`)
	if err != nil {
		return nil, fmt.Errorf("list notification channels: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ChannelRow, error) { return scanChannel(r) })
}

// FailingChannels lists the channels whose last failures (at least
// failures of them) came in a row.
func (db *DB) FailingChannels(ctx context.Context, failures int) ([]ChannelRow, error) {
	rows, err := db.Pool.Query(ctx, channelSelect+` WHERE c.consecutive_failures >= $1 ORDER BY c.id`, failures)
	if err != nil {
		return nil, fmt.Errorf("list failing notification channels: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ChannelRow, error) { return scanChannel(r) })
}

// Channel reads one channel.
func (db *DB) Channel(ctx context.Context, id int64) (ChannelRow, error) {
	c, err := scanChannel(db.Pool.QueryRow(ctx, channelSelect+` WHERE c.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, models.Errorf(models.ErrNotFound, "There is no notification channel %d.", id)
	}
	return c, err
}

// DeleteChannel removes channel id and its pending deliveries.
func (db *DB) DeleteChannel(ctx context.Context, tx *Tx, id int64) error {
	res, err := tx.g.Statement.ConnPool.ExecContext(ctx, `DELETE FROM notify_channels WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("remove notification channel: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return models.Errorf(models.ErrNotFound, "There is no notification channel %d.", id)
	}
	return nil
}

// SealedChannel is a channel's sealed parts, for rekey.
type SealedChannel struct {
	ID                 int64
	KeyID              string
	Target, SigningKey []byte
}

// ChannelsSealedBefore lists the channels not sealed with key current (for
// rekey), locked until the transaction ends.
func (db *DB) ChannelsSealedBefore(ctx context.Context, tx *Tx, current string) ([]SealedChannel, error) {
	rows, err := tx.g.Statement.ConnPool.QueryContext(ctx, `SELECT id, key_id, target_sealed, secret_sealed
	  FROM notify_channels WHERE key_id <> $1 ORDER BY id FOR UPDATE`, current)
	if err != nil {
		return nil, fmt.Errorf("channels to rekey: %w", err)
	}
	defer rows.Close()
	var out []SealedChannel
	for rows.Next() {
		var c SealedChannel
		if err := rows.Scan(&c.ID, &c.KeyID, &c.Target, &c.SigningKey); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ResealChannel stores channel id's target and secret sealed anew.
func (db *DB) ResealChannel(ctx context.Context, tx *Tx, c SealedChannel) error {
	_, err := tx.g.Statement.ConnPool.ExecContext(ctx, `UPDATE notify_channels SET key_id = $2, target_sealed = $3,
	  secret_sealed = $4 WHERE id = $1`, c.ID, c.KeyID, c.Target, c.SigningKey)
	return err
}
