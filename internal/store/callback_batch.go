package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/uwsportal/uwsportal/models"
)

// OpenEnd is how a callback ends the open request with its request id.
type OpenEnd struct {
	RequestID, Account string
	End                RequestEnd
}

// endOpenRequests ends the open requests named in $1, a JSON array of
// OpenEnd's fields (request ids distinct), returning those it ended.
const endOpenRequests = `UPDATE device_requests r SET status = v.status, ended_by = v.ended_by, fault = v.fault, ended_at = v.ended_at,
       next_poll_at = NULL, claimed_until = NULL
  FROM departments d, jsonb_to_recordset($1::jsonb) AS v(request_id text, account text, status text, ended_by text, fault text, ended_at timestamptz)
 WHERE d.id = r.department_id AND r.request_id = v.request_id AND r.account_name = v.account AND r.status IN ('pending', 'unknown')
RETURNING ` + requestColumns

// EndOpenRequestsAudited ends the open requests of ends (request ids
// distinct) and records each one it ended, in one transaction: its
// application's callback queued (when the client has a listener) and the
// audit event eventOf makes for it appended to the chain. Three round
// trips whatever the count: BEGIN and the update; the chain head's lock
// and read; the callbacks, the appends, their notifications and COMMIT.
// It returns the requests it ended, by request id.
func (db *DB) EndOpenRequestsAudited(ctx context.Context, ends []OpenEnd, eventOf func(models.DeviceRequest) *models.AuditEvent, now time.Time) (map[string]models.DeviceRequest, error) {
	arg, err := endsJSON(ends)
	if err != nil {
		return nil, err
	}
	conn, err := db.commits.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("end device requests: %w", err)
	}
	defer conn.Release()
	db.txs.Add(1)
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(endOpenRequests, arg)
	res := conn.SendBatch(ctx, b)
	var recs []requestRecord
	if _, err = res.Exec(); err == nil {
		var rows pgx.Rows
		if rows, err = res.Query(); err == nil {
			recs, err = pgx.CollectRows(rows, pgx.RowToStructByPos[requestRecord])
		}
	}
	if cerr := res.Close(); err == nil {
		err = cerr
	}
	if err == nil && len(recs) == 0 {
		if _, err = conn.Exec(ctx, "COMMIT"); err == nil {
			return map[string]models.DeviceRequest{}, nil
		}
	}
	if err != nil {
		return nil, db.rollback(ctx, conn, err)
	}
	ended := make(map[string]models.DeviceRequest, len(recs))
	events := make([]*models.AuditEvent, len(recs))
	for i := range recs {
		r := recs[i].model()
		ended[r.RequestID], events[i] = r, eventOf(r)
	}
	if err := db.appendEnded(ctx, conn, recs, events, now); err != nil {
		return nil, db.rollback(ctx, conn, err)
	}
	return ended, nil
}

// appendEnded is EndOpenRequestsAudited's last two round trips.
func (db *DB) appendEnded(ctx context.Context, conn *pgxpool.Conn, recs []requestRecord, events []*models.AuditEvent, now time.Time) error {
	db.batch.moved.Add(1) // the group commit's loop no longer knows the head
	var seq int64
	var prev []byte
	if err := conn.QueryRow(ctx, lockHead).Scan(&seq, &prev); err != nil {
		return db.appendFailed(events[0], err)
	}
	b := &pgx.Batch{}
	for i, e := range events {
		if c := recs[i].ClientID; c != nil && *c != "" {
			b.Queue(queueClientCallback, *c, recs[i].ID, now)
		}
		seq++
		db.queueAppend(b, e, nil, seq, prev)
		prev = e.Hash
	}
	b.Queue("COMMIT")
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return db.appendFailed(events[0], err)
	}
	for range events {
		db.auditWritten()
	}
	return nil
}

func endsJSON(ends []OpenEnd) (string, error) {
	type row struct {
		RequestID string    `json:"request_id"`
		Account   string    `json:"account"`
		Status    string    `json:"status"`
		By        string    `json:"ended_by"`
		Fault     string    `json:"fault"`
		At        time.Time `json:"ended_at"`
	}
	rows := make([]row, len(ends))
	for i, e := range ends {
		rows[i] = row{e.RequestID, e.Account, string(e.End.Status), e.End.By, models.Clip(e.End.Fault, 2000), e.End.At}
	}
	arg, err := json.Marshal(rows)
	if err != nil {
		return "", fmt.Errorf("end device requests: %w", err)
	}
	return string(arg), nil
}

// rollback ends conn's failed transaction and returns err. A connection
// that cannot roll back is closed rather than returned to the pool
// mid-transaction.
func (db *DB) rollback(ctx context.Context, conn *pgxpool.Conn, err error) error {
	if _, rerr := conn.Exec(ctx, "ROLLBACK"); rerr != nil {
		_ = conn.Conn().Close(ctx)
		return errors.Join(err, rerr)
	}
	return err
}
