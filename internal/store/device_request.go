package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/uwsportal/uwsportal/models"
)

type requestRecord struct {
	ID               int64
	RequestID        *string
	Department       string
	AccountName      string
	Actor, ActorName string
	UserID           *int64
	ClientID         *string
	Operation        string
	Devices          string
	SentAt           time.Time
	Status           string
	EndedAt          *time.Time
	EndedBy, Fault   string
	FirstEvent       int64
	Polls            int
	NextPollAt       *time.Time
}

func (r *requestRecord) model() models.DeviceRequest {
	out := models.DeviceRequest{ID: r.ID, Department: r.Department, Account: r.AccountName, Actor: r.Actor, ActorName: r.ActorName,
		Operation: models.Operation(r.Operation), SentAt: r.SentAt, Status: models.RequestStatus(r.Status), EndedAt: r.EndedAt,
		EndedBy: r.EndedBy, Fault: r.Fault, FirstEvent: r.FirstEvent, Polls: r.Polls, NextPollAt: r.NextPollAt}
	if r.RequestID != nil {
		out.RequestID = *r.RequestID
	}
	if r.UserID != nil {
		out.UserID = *r.UserID
	}
	if r.ClientID != nil {
		out.ClientID = *r.ClientID
	}
	out.Devices = ParseDeviceKeys(r.Devices)
	return out
}

// DeviceKey is how a device identifier is stored: "kind:id", kind in lower case.
func DeviceKey(id models.DeviceID) string { return strings.ToLower(id.Kind) + ":" + id.ID }

// DeviceKeys are the stored keys of ids.
func DeviceKeys(ids []models.DeviceID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = DeviceKey(id)
	}
	return out
}

// deviceArg is ids as one comma-separated argument (string_to_array
// makes the array; an identifier never holds a comma).
func deviceArg(ids []models.DeviceID) string {
	keys := DeviceKeys(ids)
	for i, k := range keys {
		keys[i] = strings.ReplaceAll(k, ",", "")
	}
	return strings.Join(keys, ",")
}

// ParseDeviceKeys reads stored keys back (comma-separated).
func ParseDeviceKeys(joined string) []models.DeviceID {
	out := []models.DeviceID{}
	if joined == "" {
		return out
	}
	for _, k := range strings.Split(joined, ",") {
		kind, id, _ := strings.Cut(k, ":")
		out = append(out, models.DeviceID{Kind: kind, ID: id})
	}
	return out
}

const requestColumns = `r.id, r.request_id, d.slug AS department, r.account_name, r.actor, r.actor_name, r.user_id, r.client_id,
       r.operation, array_to_string(r.devices, ',') AS devices, r.sent_at, r.status, r.ended_at, r.ended_by, r.fault, r.first_event, r.polls, r.next_poll_at`

const requestSelect = `SELECT ` + requestColumns + ` FROM device_requests r JOIN departments d ON d.id = r.department_id`

func (db *DB) requests(ctx context.Context, tx *Tx, q string, args ...any) ([]models.DeviceRequest, error) {
	var recs []requestRecord
	if err := db.q(ctx, tx).Raw(q, args...).Scan(&recs).Error; err != nil {
		return nil, fmt.Errorf("read device requests: %w", err)
	}
	out := make([]models.DeviceRequest, len(recs))
	for i := range recs {
		out[i] = recs[i].model()
	}
	return out, nil
}

func (db *DB) oneRequest(ctx context.Context, tx *Tx, q string, args ...any) (models.DeviceRequest, bool, error) {
	list, err := db.requests(ctx, tx, q, args...)
	if err != nil || len(list) == 0 {
		return models.DeviceRequest{}, false, err
	}
	return list[0], true, nil
}

// LockRequestID serialises, until tx ends, everything done about
// ThingSpace request id rid: the send's record and a callback that may
// overtake it each see what the other committed.
func (db *DB) LockRequestID(ctx context.Context, tx *Tx, rid string) error {
	err := db.q(ctx, tx).Exec(`SELECT pg_advisory_xact_lock(hashtextextended('device-request:' || ?, 0))`, rid).Error
	if err != nil {
		return fmt.Errorf("lock request %s: %w", models.Clip(rid, 64), err)
	}
	return nil
}

// LockLostMatch serialises, until tx ends, the matching of account's
// lost sends (recorded without a request id) with callbacks whose request
// id no recorded request holds: a lost send's record and such a callback
// each see what the other committed, so neither misses the other.
func (db *DB) LockLostMatch(ctx context.Context, tx *Tx, account string) error {
	err := db.q(ctx, tx).Exec(`SELECT pg_advisory_xact_lock(hashtextextended('lost-match:' || ?, 0))`, account).Error
	if err != nil {
		return fmt.Errorf("lock lost requests of %s: %w", models.Clip(account, 64), err)
	}
	return nil
}

// CreateDeviceRequest records a request sent upstream (r.ID is ignored)
// and returns its id. The department is named by slug. If another request
// holds r.RequestID, nothing changes and the error is ErrRequestIDHeld.
func (db *DB) CreateDeviceRequest(ctx context.Context, tx *Tx, r models.DeviceRequest) (int64, error) {
	var id int64
	var rid, client *string
	var user *int64
	if r.RequestID != "" {
		rid = &r.RequestID
	}
	if r.ClientID != "" {
		client = &r.ClientID
	}
	if r.UserID != 0 {
		user = &r.UserID
	}
	err := db.q(ctx, tx).Raw(`INSERT INTO device_requests (request_id, department_id, account_name, actor, actor_name, user_id,
	       client_id, operation, devices, sent_at, status, ended_at, ended_by, fault, first_event, next_poll_at)
	SELECT ?, d.id, ?, ?, ?, ?, ?, ?, string_to_array(?, ','), ?, ?, ?, ?, ?, ?, ? FROM departments d WHERE d.slug = ?
	ON CONFLICT (request_id) DO NOTHING RETURNING id`,
		rid, r.Account, r.Actor, r.ActorName, user, client, string(r.Operation), deviceArg(r.Devices), r.SentAt,
		string(r.Status), r.EndedAt, r.EndedBy, models.Clip(r.Fault, 2000), r.FirstEvent, r.NextPollAt, r.Department).Scan(&id).Error
	if err == nil && id == 0 {
		err = models.ErrNotFound
		if _, held, herr := db.DeviceRequestByRequestID(ctx, tx, r.RequestID); herr != nil || held {
			err = cmp.Or(herr, ErrRequestIDHeld)
		}
	}
	if err != nil {
		return 0, fmt.Errorf("record device request: %w", err)
	}
	return id, nil
}

// ErrRequestIDHeld: another request holds the request id to record.
var ErrRequestIDHeld = errors.New("another request holds this request id")

// DeviceRequestByRequestID reads the request ThingSpace knows as rid,
// locked for the rest of tx.
func (db *DB) DeviceRequestByRequestID(ctx context.Context, tx *Tx, rid string) (models.DeviceRequest, bool, error) {
	return db.oneRequest(ctx, tx, requestSelect+` WHERE r.request_id = ? FOR UPDATE OF r`, rid)
}

// DeviceRequest reads request id.
func (db *DB) DeviceRequest(ctx context.Context, tx *Tx, id int64) (models.DeviceRequest, bool, error) {
	return db.oneRequest(ctx, tx, requestSelect+` WHERE r.id = ?`, id)
}

// LostDeviceRequest finds, locked, the oldest request of account sent
// since whose answer was lost (no request id, still unknown) and that
// named one of devices: a callback with an unknown id may be its outcome.
func (db *DB) LostDeviceRequest(ctx context.Context, tx *Tx, account string, devices []models.DeviceID, since time.Time) (models.DeviceRequest, bool, error) {
	return db.oneRequest(ctx, tx, requestSelect+` WHERE r.account_name = ? AND r.request_id IS NULL AND r.status = 'unknown'
	   AND r.sent_at >= ? AND r.devices && string_to_array(?, ',') ORDER BY r.sent_at LIMIT 1 FOR UPDATE OF r SKIP LOCKED`,
		account, since, deviceArg(devices))
}

// RequestEnd is how a request ended.
type RequestEnd struct {
	Status    models.RequestStatus
	By        string
	Fault     string
	At        time.Time
	RequestID string // set on a request whose answer was lost, when a callback names it
}

// EndDeviceRequest records the outcome of request id if it is still
// open; false if another outcome got there first (a duplicate or late
// callback, a poll that lost the race): nothing changes then.
func (db *DB) EndDeviceRequest(ctx context.Context, tx *Tx, id int64, end RequestEnd) (bool, error) {
	var rid *string
	if end.RequestID != "" {
		rid = &end.RequestID
	}
	res := db.q(ctx, tx).Exec(`UPDATE device_requests SET status = ?, ended_by = ?, fault = ?, ended_at = ?,
	       request_id = COALESCE(request_id, ?), next_poll_at = NULL, claimed_until = NULL
	 WHERE id = ? AND status IN ('pending', 'unknown')`,
		string(end.Status), end.By, models.Clip(end.Fault, 2000), end.At, rid, id)
	if res.Error != nil {
		return false, fmt.Errorf("end device request %d: %w", id, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// EndOpenRequest ends, in one statement, the request ThingSpace knows as
// rid if it is account's and still open, and returns it as ended; false
// if there is none such (not recorded yet, another account's, ended
// already): nothing changes then. Its row lock orders it with a
// duplicate callback or a poll.
func (db *DB) EndOpenRequest(ctx context.Context, tx *Tx, rid, account string, end RequestEnd) (models.DeviceRequest, bool, error) {
	return db.oneRequest(ctx, tx, `UPDATE device_requests r SET status = ?, ended_by = ?, fault = ?, ended_at = ?, next_poll_at = NULL, claimed_until = NULL
	  FROM departments d WHERE d.id = r.department_id AND r.request_id = ? AND r.account_name = ? AND r.status IN ('pending', 'unknown')
	RETURNING `+requestColumns, string(end.Status), end.By, models.Clip(end.Fault, 2000), end.At, rid, account)
}

// ReopenDeviceRequest opens request id again: no request id, unknown,
// read next at nextPoll. The request had taken, by its devices, the
// request id of a send recorded since (Service.Record).
func (db *DB) ReopenDeviceRequest(ctx context.Context, tx *Tx, id int64, nextPoll *time.Time) error {
	err := db.q(ctx, tx).Exec(`UPDATE device_requests SET request_id = NULL, status = 'unknown', ended_at = NULL, ended_by = '', fault = '',
	       next_poll_at = ?, claimed_until = NULL WHERE id = ?`, nextPoll, id).Error
	if err != nil {
		return fmt.Errorf("reopen device request %d: %w", id, err)
	}
	return nil
}

// InboxMessage is a callback for a request id the portal had not recorded.
type InboxMessage struct {
	RequestID  string
	Account    string
	Status     models.RequestStatus
	Fault      string
	Devices    []models.DeviceID
	ReceivedAt time.Time
	AuditEvent int64
}

// PutInbox keeps m; false if a message for that request id is already
// there (a redelivery: nothing changes).
func (db *DB) PutInbox(ctx context.Context, tx *Tx, m InboxMessage) (bool, error) {
	res := db.q(ctx, tx).Exec(`INSERT INTO callback_inbox (request_id, account_name, status, fault, devices, received_at, audit_event)
	VALUES (?, ?, ?, ?, string_to_array(?, ','), ?, ?) ON CONFLICT (request_id) DO NOTHING`,
		m.RequestID, m.Account, string(m.Status), models.Clip(m.Fault, 2000), deviceArg(m.Devices), m.ReceivedAt, m.AuditEvent)
	if res.Error != nil {
		return false, fmt.Errorf("keep callback %s: %w", models.Clip(m.RequestID, 64), res.Error)
	}
	return res.RowsAffected == 1, nil
}

// TakeInbox marks the unmatched message for rid as belonging to request
// and returns it; false if there is none.
func (db *DB) TakeInbox(ctx context.Context, tx *Tx, rid string, request int64) (InboxMessage, bool, error) {
	return db.takeInbox(ctx, tx, `request_id = ?`, request, rid)
}

// TakeLostInbox marks, as belonging to request (a send whose answer was
// lost), the oldest unmatched message of account received since that
// names one of devices, and returns it; false if there is none. The
// caller holds LockLostMatch, which a callback takes before it keeps a
// message as unmatched.
func (db *DB) TakeLostInbox(ctx context.Context, tx *Tx, account string, devices []models.DeviceID, since time.Time, request int64) (InboxMessage, bool, error) {
	return db.takeInbox(ctx, tx, `request_id = (SELECT request_id FROM callback_inbox WHERE account_name = ? AND matched IS NULL
	   AND received_at >= ? AND devices && string_to_array(?, ',') ORDER BY received_at LIMIT 1 FOR UPDATE SKIP LOCKED)`,
		request, account, since, deviceArg(devices))
}

// takeInbox marks the unmatched message where selects as request's.
func (db *DB) takeInbox(ctx context.Context, tx *Tx, where string, request int64, args ...any) (InboxMessage, bool, error) {
	var rec struct {
		RequestID, AccountName, Status, Fault string
		Devices                               string
		ReceivedAt                            time.Time
		AuditEvent                            int64
	}
	err := db.q(ctx, tx).Raw(`UPDATE callback_inbox SET matched = ? WHERE `+where+` AND matched IS NULL
	RETURNING request_id, account_name, status, fault, array_to_string(devices, ',') AS devices, received_at, audit_event`,
		append([]any{request}, args...)...).Scan(&rec).Error
	if err != nil {
		return InboxMessage{}, false, fmt.Errorf("read callback inbox: %w", err)
	}
	if rec.RequestID == "" {
		return InboxMessage{}, false, nil
	}
	return InboxMessage{RequestID: rec.RequestID, Account: rec.AccountName, Status: models.RequestStatus(rec.Status), Fault: rec.Fault,
		Devices: ParseDeviceKeys(rec.Devices), ReceivedAt: rec.ReceivedAt, AuditEvent: rec.AuditEvent}, true, nil
}

// ErrNoRows reports whether err is a read that found nothing.
func ErrNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
