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
	return db.auditWindowed(ctx, e, source, "", known)
}

// AuditGrouped appends e (a refusal of a known actor, such as an API
// client) if it is the first with its code, actor and reason in the
// current window, and otherwise only counts it; the window's summary is
// the actor's, in e's department. Use it for refusals an authenticated
// caller can repeat as fast as it is refused.
func (db *DB) AuditGrouped(ctx context.Context, e *models.AuditEvent, reason string, known ...string) error {
	return db.auditWindowed(ctx, e, "", reason, known)
}

func (db *DB) auditWindowed(ctx context.Context, e *models.AuditEvent, source, reason string, known []string) error {
	now := db.Now()
	if err := db.FlushAuditWindows(ctx, now); err != nil {
		return err
	}
	return db.WithTx(ctx, func(tx *Tx) error {
		var count int64
		err := db.q(ctx, tx).Raw(`INSERT INTO audit_windows (code, source, actor, reason, actor_name, department, target, window_start, count, first_event)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, 0)
			ON CONFLICT (code, source, actor, reason) DO UPDATE SET count = audit_windows.count + 1
			RETURNING count`, e.Code, source, windowActor(e, reason), reason, e.ActorName, e.Department, e.Target, now).Scan(&count).Error
		if err != nil || count > 1 {
			return err
		}
		e.With("aggregated_per_seconds", int(AuditWindow.Seconds()))
		if err := db.Audit(ctx, tx, e, known...); err != nil {
			return err
		}
		return db.q(ctx, tx).Exec("UPDATE audit_windows SET first_event = ? WHERE code = ? AND source = ? AND actor = ? AND reason = ?",
			e.ID, e.Code, source, windowActor(e, reason), reason).Error
	})
}

// windowActor is the actor a window is kept for: none for anonymous ones.
func windowActor(e *models.AuditEvent, reason string) string {
	if reason == "" {
		return ""
	}
	return e.Actor
}

// endedWindow is a window FlushAuditWindows closes.
type endedWindow struct {
	Code, Source, Actor, ActorName, Department, Target, Reason string
	WindowStart                                                time.Time
	Count, FirstEvent                                          int64
}

// FlushAuditWindows closes the windows that ended before now: a window that
// counted more than its first event gets a summary event with the count.
func (db *DB) FlushAuditWindows(ctx context.Context, now time.Time) error {
	// Most flushes find nothing ended (every audit search flushes first).
	// A window ends AuditWindow after it opened, and one opened from now
	// on (by any instance) opens now at the earliest: so until the earliest
	// window read here can end, there is nothing to read at all.
	if due := db.windowsDue.Load(); due != 0 && now.UnixNano() < due {
		return nil
	}
	var first *time.Time
	if err := db.Pool.QueryRow(ctx, `SELECT min(window_start) FROM audit_windows`).Scan(&first); err != nil {
		return err
	}
	if first == nil || first.After(now.Add(-AuditWindow)) {
		next := now
		if first != nil {
			next = *first
		}
		db.windowsDue.Store(next.Add(AuditWindow).UnixNano())
		return nil
	}
	db.windowsDue.Store(0) // after this flush, read again
	return db.WithTx(ctx, func(tx *Tx) error {
		var ended []endedWindow
		err := db.q(ctx, tx).Raw(`DELETE FROM audit_windows WHERE (code, source, actor, reason) IN (
				SELECT code, source, actor, reason FROM audit_windows WHERE window_start <= ? ORDER BY window_start
				LIMIT ? FOR UPDATE SKIP LOCKED)
			RETURNING code, source, actor, actor_name, department, target, reason, window_start, count, first_event`,
			now.Add(-AuditWindow), flushBatch).Scan(&ended).Error
		if err != nil {
			return err
		}
		for _, w := range ended {
			if w.Count < 2 {
				continue // the first event said it all
			}
			if err := db.Audit(ctx, tx, w.summary()); err != nil {
				return err
			}
		}
		return nil
	})
}

// summary is the event that counts a window's events after its first.
func (w endedWindow) summary() *models.AuditEvent {
	e := models.NewEvent(models.EvFailuresSummarized, nil, models.RequestMeta{SourceIP: w.Source}).With(
		"code", w.Code, "source", w.Source, "count", w.Count, "first_event", w.FirstEvent,
		"window_start", w.WindowStart.UTC().Format(time.RFC3339), "window_seconds", int(AuditWindow.Seconds()))
	e.Actor, e.Outcome = "anonymous", models.OutcomeFailure
	if w.Actor != "" {
		e.Actor, e.ActorName, e.Department, e.Target = w.Actor, w.ActorName, w.Department, w.Target
		e.With("reason", w.Reason)
	}
	return e
}
