package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/uwsportal/uwsportal/models"
)

// fanOut turns outbox rows into deliveries: one per matching channel (the
// portal-wide ones and the department's own, filtered by event) and, when
// people can be mailed, one per lead of the department, per admin for an
// approval request and per named recipient, less the excluded. Rows are locked with SKIP LOCKED, so two
// instances never fan out the same row, and the unique index makes a
// repeat harmless. Admins are approvers everywhere: they are mailed every
// approval request.
const fanOut = `
WITH o AS (
    SELECT id, event, department, recipients, exclude FROM notify_outbox
     WHERE fanned_out_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
), ch AS (
    INSERT INTO notify_deliveries (outbox_id, channel_id, next_attempt_at)
    SELECT o.id, c.id, $2 FROM o JOIN notify_channels c
        ON (c.department_id IS NULL OR c.department_id = (SELECT d.id FROM departments d WHERE d.slug = o.department))
       AND (cardinality(c.events) = 0 OR o.event = ANY (c.events))
    ON CONFLICT DO NOTHING
), ppl AS (
    INSERT INTO notify_deliveries (outbox_id, user_id, next_attempt_at)
    SELECT o.id, u.id, $2 FROM o JOIN users u
        ON $3 AND NOT u.disabled AND u.email <> '' AND NOT (u.id = ANY (o.exclude))
       AND (u.id = ANY (o.recipients) OR EXISTS (
            SELECT 1 FROM user_grants g WHERE g.user_id = u.id
               AND ((g.role = 'lead' AND g.department = o.department AND o.department <> '')
                 OR (g.role = 'admin' AND o.event = 'approval-requested'))))
    ON CONFLICT DO NOTHING
)
UPDATE notify_outbox SET fanned_out_at = $2 WHERE id IN (SELECT id FROM o)`

// FanOut fans out up to limit outbox rows at now; people are mailed only
// when mailPeople (an SMTP server is configured). It returns the rows done.
func (db *DB) FanOut(ctx context.Context, now time.Time, limit int, mailPeople bool) (int, error) {
	tag, err := db.Pool.Exec(ctx, fanOut, limit, now, mailPeople)
	if err != nil {
		return 0, fmt.Errorf("fan out notifications: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// Delivery is one claimed message: what to send and where.
type Delivery struct {
	ID      int64
	Attempt int // the claim's attempt number; results are recorded against it
	Message models.Notification
	// Channel is nil for a person's email.
	Channel *SealedChannel
	Kind    models.ChannelKind
	Email   string // a person's address
}

// claim takes up to $3 due deliveries for a lease ending at $2: another
// instance skips them until the lease ends, and takes them over if this
// one dies before recording the result.
const claim = `
WITH c AS (
    UPDATE notify_deliveries d SET claimed_until = $2, attempts = d.attempts + 1
      FROM (SELECT id FROM notify_deliveries
             WHERE state = 'pending' AND next_attempt_at <= $1 AND (claimed_until IS NULL OR claimed_until <= $1)
             ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) due
     WHERE d.id = due.id
    RETURNING d.id, d.attempts, d.outbox_id, d.channel_id, d.user_id
)
SELECT c.id, c.attempts, o.event, o.department, o.subject, o.body, o.link, o.fields, o.occurred_at,
       ch.id, coalesce(ch.kind, 'email'), coalesce(ch.key_id, ''), ch.target_sealed, ch.secret_sealed,
       coalesce(u.email, '')
  FROM c JOIN notify_outbox o ON o.id = c.outbox_id
  LEFT JOIN notify_channels ch ON ch.id = c.channel_id
  LEFT JOIN users u ON u.id = c.user_id
 ORDER BY c.id`

// ClaimDeliveries claims up to limit deliveries due at now for lease.
func (db *DB) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Delivery, error) {
	rows, err := db.Pool.Query(ctx, claim, now, now.Add(lease), limit)
	if err != nil {
		return nil, fmt.Errorf("claim notifications: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Delivery, error) {
		var d Delivery
		var event, kind string
		var fields []byte
		var chID *int64
		var ch SealedChannel
		m := &d.Message
		err := r.Scan(&d.ID, &d.Attempt, &event, &m.Department, &m.Subject, &m.Text, &m.Link, &fields, &m.Time,
			&chID, &kind, &ch.KeyID, &ch.Target, &ch.SigningKey, &d.Email)
		if err != nil {
			return d, err
		}
		m.DeliveryID, m.Event, d.Kind = d.ID, models.NotifyEvent(event), models.ChannelKind(kind)
		if chID != nil {
			ch.ID = *chID
			d.Channel = &ch
		}
		return d, json.Unmarshal(fields, &m.Fields)
	})
}

// deliveryDone records a claim's result, and the channel's health, if the
// claim is still this sender's (same attempt, still pending): a sender
// whose lease ran out records nothing.
const deliveryDone = `
WITH d AS (
    UPDATE notify_deliveries SET state = $3, sent_at = $4, next_attempt_at = $5, claimed_until = NULL, last_error = $6
     WHERE id = $1 AND attempts = $2 AND state = 'pending'
    RETURNING channel_id
)
UPDATE notify_channels c SET
       consecutive_failures = CASE WHEN $3 = 'sent' THEN 0 ELSE c.consecutive_failures + 1 END,
       last_success_at = CASE WHEN $3 = 'sent' THEN $4 ELSE c.last_success_at END,
       last_error = CASE WHEN $3 = 'sent' THEN c.last_error ELSE $6 END,
       last_failure_at = CASE WHEN $3 = 'sent' THEN c.last_failure_at ELSE $7 END
  FROM d WHERE c.id = d.channel_id`

// DeliverySent records that delivery id (claim attempt) was sent at.
func (db *DB) DeliverySent(ctx context.Context, id int64, attempt int, at time.Time) error {
	_, err := db.Pool.Exec(ctx, deliveryDone, id, attempt, "sent", at, at, "", at)
	return err
}

// DeliveryFailed records a failed attempt: retried at next, or given up
// when final.
func (db *DB) DeliveryFailed(ctx context.Context, id int64, attempt int, at, next time.Time, final bool, msg string) error {
	state := "pending"
	if final {
		state = "failed"
	}
	_, err := db.Pool.Exec(ctx, deliveryDone, id, attempt, state, nil, next, models.Clip(msg, 500), at)
	return err
}

// PruneNotifications deletes outbox rows fanned out before cutoff whose
// deliveries are all finished.
func (db *DB) PruneNotifications(ctx context.Context, cutoff time.Time) (int64, error) {
	tag, err := db.Pool.Exec(ctx, `DELETE FROM notify_outbox o WHERE o.fanned_out_at < $1
	  AND NOT EXISTS (SELECT 1 FROM notify_deliveries d WHERE d.outbox_id = o.id AND d.state = 'pending')`, cutoff)
	return tag.RowsAffected(), err
}

// NotifyBacklog counts outbox rows not yet fanned out, deliveries pending
// and deliveries given up on.
type NotifyBacklog struct{ Unfanned, Pending, Failed int }

// NotifyBacklog reads the counts.
func (db *DB) NotifyBacklog(ctx context.Context) (NotifyBacklog, error) {
	var b NotifyBacklog
	err := db.Pool.QueryRow(ctx, `SELECT
	  (SELECT count(*) FROM notify_outbox WHERE fanned_out_at IS NULL),
	  (SELECT count(*) FROM notify_deliveries WHERE state = 'pending'),
	  (SELECT count(*) FROM notify_deliveries WHERE state = 'failed')`).Scan(&b.Unfanned, &b.Pending, &b.Failed)
	return b, err
}
