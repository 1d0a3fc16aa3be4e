package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/uwsportal/uwsportal/models"
)

// claimDueRequests takes the open requests whose status read is due, the
// earliest first, at most perAccount of each account and limit in all,
// and leases them to the caller until the lease ends: SKIP LOCKED and the
// lease make every request asked about by one instance at a time. It
// leases only what it returns, so nothing is given back afterwards (a
// second statement that locked rows in no set order, against a callback
// batch that locks them in id order).
const claimDueRequests = `
WITH due AS (
    SELECT id, account_name, next_poll_at FROM device_requests
     WHERE next_poll_at <= ? AND (claimed_until IS NULL OR claimed_until < ?)
     ORDER BY next_poll_at
     LIMIT ? FOR UPDATE SKIP LOCKED
), ranked AS (
    SELECT id, next_poll_at, row_number() OVER (PARTITION BY account_name ORDER BY next_poll_at, id) AS n FROM due
), picked AS (
    SELECT id FROM ranked WHERE n <= ? ORDER BY next_poll_at, id LIMIT ?
)
UPDATE device_requests r SET claimed_until = ?
  FROM picked WHERE r.id = picked.id
RETURNING r.id`

// ClaimDueRequests leases the requests due for a status read at now.
func (db *DB) ClaimDueRequests(ctx context.Context, now time.Time, lease time.Duration, limit, perAccount int) ([]models.DeviceRequest, error) {
	var ids []int64
	err := db.q(ctx, nil).Raw(claimDueRequests, now, now, limit*4, perAccount, limit, now.Add(lease)).Scan(&ids).Error
	if err != nil {
		return nil, fmt.Errorf("claim due requests: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return db.requests(ctx, nil, requestSelect+` WHERE r.id IN ? ORDER BY r.next_poll_at`, ids)
}

// RequestPolled records a status read of request id that found no
// outcome: the number of reads made and the next one (nil: none, the
// request is then unknown). It changes nothing once the request ended.
func (db *DB) RequestPolled(ctx context.Context, tx *Tx, id int64, polls int, next *time.Time) (bool, error) {
	res := db.q(ctx, tx).Exec(`UPDATE device_requests SET polls = ?, next_poll_at = ?, claimed_until = NULL,
	       status = CASE WHEN ?::timestamptz IS NULL THEN 'unknown' ELSE status END
	 WHERE id = ? AND status IN ('pending', 'unknown')`, polls, next, next, id)
	if res.Error != nil {
		return false, fmt.Errorf("record poll of request %d: %w", id, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// RequestFilter selects requests for a page.
type RequestFilter struct {
	Department string // slug; "" all
	Device     string // "kind:id"; "" any
	Open       bool   // only pending and unknown
	Limit      int
}

// DeviceRequests lists requests, newest first.
func (db *DB) DeviceRequests(ctx context.Context, f RequestFilter) ([]models.DeviceRequest, error) {
	q, args := requestSelect+` WHERE true`, []any{}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.Department != "" {
		q += ` AND d.slug = ` + arg(f.Department)
	}
	if f.Device != "" {
		q += ` AND ` + arg(f.Device) + ` = ANY (r.devices)`
	}
	if f.Open {
		q += ` AND r.status IN ('pending', 'unknown')`
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	q += ` ORDER BY r.sent_at DESC, r.id DESC LIMIT ` + arg(f.Limit)
	return queryRows(ctx, db, "read device requests", q, args, func(row pgx.CollectableRow) (models.DeviceRequest, error) {
		r, err := pgx.RowToStructByPos[requestRecord](row) // as the callbacks' batch reads it
		return r.model(), err
	})
}

// DeviceRequestsByID reads the requests ids (those that exist).
func (db *DB) DeviceRequestsByID(ctx context.Context, ids []int64) ([]models.DeviceRequest, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return db.requests(ctx, nil, requestSelect+` WHERE r.id IN ? ORDER BY r.id`, ids)
}

// RequestTroubles counts, per department slug, the requests that failed
// since and those pending for longer than pendingFor.
type RequestTroubles struct {
	Department   string
	Failed       int
	LongPending  int
	UnknownCount int
}

// CountRequestTroubles reads the dashboard's counts.
func (db *DB) CountRequestTroubles(ctx context.Context, since, pendingBefore time.Time) ([]RequestTroubles, error) {
	return queryRows(ctx, db, "count request troubles", `SELECT d.slug,
	       count(*) FILTER (WHERE r.status = 'failed' AND r.sent_at >= $1),
	       count(*) FILTER (WHERE r.status = 'pending' AND r.sent_at < $2),
	       count(*) FILTER (WHERE r.status = 'unknown' AND r.sent_at >= $1)
	  FROM device_requests r JOIN departments d ON d.id = r.department_id
	 WHERE r.sent_at >= $1 OR r.status = 'pending'
	 GROUP BY d.slug ORDER BY d.slug`, []any{since, pendingBefore}, func(row pgx.CollectableRow) (RequestTroubles, error) {
		var t RequestTroubles
		err := row.Scan(&t.Department, &t.Failed, &t.LongPending, &t.UnknownCount)
		return t, err
	})
}
