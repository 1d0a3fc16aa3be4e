package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/uwsportal/uwsportal/models"
)

// insertOutbox writes one notification to the outbox. A cause already
// there (the same dedupe key) is left alone: a scan may find a due
// credential on every instance and every pass.
const insertOutbox = `
INSERT INTO notify_outbox (event, dedupe_key, department, subject, body, link, fields, recipients, exclude, occurred_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (dedupe_key) DO NOTHING`

// insertOutboxAfter is insertOutbox for an event appendAudit appended
// in a batch: it writes only if the event was appended (one appended on an
// assumed head may not be), that is if the head, which the batch holds
// from its first append, stands at the event's hash ($11).
const insertOutboxAfter = `
INSERT INTO notify_outbox (event, dedupe_key, department, subject, body, link, fields, recipients, exclude, occurred_at)
SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 WHERE EXISTS (SELECT 1 FROM audit_head WHERE hash = $11)
ON CONFLICT (dedupe_key) DO NOTHING`

func outboxArgs(o models.Outbound) []any {
	fields := []byte("{}")
	if len(o.Fields) > 0 {
		fields, _ = json.Marshal(o.Fields) // map[string]string always encodes
	}
	return []any{string(o.Event), o.DedupeKey, o.Department, models.Clip(o.Subject, 300), models.Clip(o.Text, 4000),
		o.Link, string(fields), nonNilIDs(o.Recipients), nonNilIDs(o.Exclude), o.Time}
}

func nonNilIDs(s []int64) []int64 {
	if s == nil {
		return []int64{}
	}
	return s
}

// execer is Exec of database/sql or of pgx, for the outbox write that
// rides along with an audit append in the same transaction.
type execer func(ctx context.Context, sql string, args ...any) error

// outboxFor writes e's notification, if it deserves one, in the
// transaction that appended e.
func (db *DB) outboxFor(ctx context.Context, exec execer, e *models.AuditEvent) error {
	o, ok := models.OutboundFor(e)
	if !ok {
		return nil
	}
	if err := exec(ctx, insertOutbox, outboxArgs(o)...); err != nil {
		return fmt.Errorf("notification outbox for %s: %w", e.Code, err)
	}
	return nil
}

// queueOutbox adds e's notification, if any, to a pgx batch after e's
// append; it reports whether it queued one (the caller reads one result
// more).
func queueOutbox(b *pgx.Batch, e *models.AuditEvent) bool {
	o, ok := models.OutboundFor(e)
	if ok {
		b.Queue(insertOutboxAfter, append(outboxArgs(o), e.Hash)...)
	}
	return ok
}

// EnqueueNotifications writes notifications found by a scan (credentials
// due, API clients expiring); each dedupe key is written once, whichever
// instance finds it first. It returns how many were new.
func (db *DB) EnqueueNotifications(ctx context.Context, out []models.Outbound) (int, error) {
	if len(out) == 0 {
		return 0, nil
	}
	b := &pgx.Batch{}
	for _, o := range out {
		b.Queue(insertOutbox, outboxArgs(o)...)
	}
	res := db.Pool.SendBatch(ctx, b)
	defer res.Close()
	n := 0
	for range out {
		tag, err := res.Exec()
		if err != nil {
			return n, fmt.Errorf("enqueue notifications: %w", err)
		}
		n += int(tag.RowsAffected())
	}
	return n, nil
}
