package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uwsportal/uwsportal/internal/metrics"
)

// OpsStats reads the database-wide numbers the metrics export at each
// scrape: credentials by rotation state, and the notification backlog
// (messages pending, events not yet fanned out) with its oldest event.
func (db *DB) OpsStats(ctx context.Context) (metrics.Ops, error) {
	o := metrics.Ops{CredentialStates: map[string]int64{}}
	rows, err := db.Pool.Query(ctx, `SELECT state, count(*) FROM credentials GROUP BY state`)
	if err != nil {
		return o, fmt.Errorf("ops stats: %w", err)
	}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			rows.Close()
			return o, fmt.Errorf("ops stats: %w", err)
		}
		o.CredentialStates[st] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return o, fmt.Errorf("ops stats: %w", err)
	}
	var oldest *time.Time
	err = db.Pool.QueryRow(ctx, `SELECT sum(n), min(t) FROM (
		SELECT count(*) AS n, min(o.occurred_at) AS t FROM notify_deliveries d JOIN notify_outbox o ON o.id = d.outbox_id WHERE d.state = 'pending'
		UNION ALL
		SELECT count(*), min(occurred_at) FROM notify_outbox WHERE fanned_out_at IS NULL) AS b`).Scan(&o.NotifyBacklog, &oldest)
	if err != nil {
		return o, fmt.Errorf("ops stats: %w", err)
	}
	if oldest != nil {
		o.NotifyOldest = *oldest
	}
	return o, nil
}
