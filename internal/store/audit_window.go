package store

import (
	"context"
	"time"

	"github.com/uwsportal/uwsportal/models"
)

// AuditWindow is how long anonymous failures from one address are counted
// under a single audit event.
const AuditWindow = 5 * time.Minute

// flushBatch bounds the summaries one flush writes, so a caller's latency
// stays bounded; the rest wait for the next flush.
const flushBatch = 100

// AuditAggregated appends e (an anonymous failure) if it is the first with
// its code from source in the current window, and otherwise only counts it.
// Ended windows are flushed first. Use it only for events that nobody
// authenticated caused, which anyone could otherwise repeat without limit.
func (db *DB) AuditAggregated(ctx context.Context, e *models.AuditEvent, source string, known ...string) error {
	now := db.Now()
	if err := db.FlushAuditWindows(ctx, now); err != nil {
		return err
	}
	return db.WithTx(ctx, func(tx *Tx) error {
		var count int64
		err := db.q(ctx, tx).Raw(`INSERT INTO audit_windows (code, source, window_start, count, first_event)
			VALUES (?, ?, ?, 1, 0)
			ON CONFLICT (code, source) DO UPDATE SET count = audit_windows.count + 1
			RETURNING count`, e.Code, source, now).Scan(&count).Error
		if err != nil || count > 1 {
			return err
		}
		e.With("aggregated_per_seconds", int(AuditWindow.Seconds()))
		if err := db.Audit(ctx, tx, e, known...); err != nil {
			return err
		}
		return db.q(ctx, tx).Exec("UPDATE audit_windows SET first_event = ? WHERE code = ? AND source = ?", e.ID, e.Code, source).Error
	})
}

// FlushAuditWindows closes the windows that ended before now: a window that
// counted more than its first event gets a summary event with the count.
func (db *DB) FlushAuditWindows(ctx context.Context, now time.Time) error {
	return db.WithTx(ctx, func(tx *Tx) error {
		var ended []struct {
			Code        string
			Source      string
			WindowStart time.Time
			Count       int64
			FirstEvent  int64
		}
		err := db.q(ctx, tx).Raw(`DELETE FROM audit_windows WHERE (code, source) IN (
				SELECT code, source FROM audit_windows WHERE window_start <= ? ORDER BY window_start
				LIMIT ? FOR UPDATE SKIP LOCKED)
			RETURNING code, source, window_start, count, first_event`, now.Add(-AuditWindow), flushBatch).Scan(&ended).Error
		if err != nil {
			return err
		}
		for _, w := range ended {
			if w.Count < 2 {
				continue // the first event said it all
			}
			e := models.NewEvent(models.EvFailuresSummarized, nil, models.RequestMeta{SourceIP: w.Source}).With(
				"code", w.Code, "source", w.Source, "count", w.Count, "first_event", w.FirstEvent,
				"window_start", w.WindowStart.UTC().Format(time.RFC3339), "window_seconds", int(AuditWindow.Seconds()))
			e.Actor, e.Outcome = "anonymous", models.OutcomeFailure
			if err := db.Audit(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
}
