package requests

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

// MaxCallbackBody bounds a callback message (ThingSpace's are a few hundred
// bytes per device).
const MaxCallbackBody = 64 << 10

// Message is a CarrierService callback as ThingSpace sends it.
type Message struct {
	Username             string            `json:"username"`
	Password             string            `json:"password"`
	RequestID            string            `json:"requestId"`
	DeviceIDs            []models.DeviceID `json:"deviceIds"`
	DeviceResponse       json.RawMessage   `json:"deviceResponse,omitempty"`
	FaultResponse        *Fault            `json:"faultResponse,omitempty"`
	Status               string            `json:"status,omitempty"`
	CallbackCount        int               `json:"callbackCount,omitempty"`
	MaxCallbackThreshold int               `json:"maxCallbackThreshold,omitempty"`
}

// Fault is a callback's faultResponse.
type Fault struct {
	FaultCode   string `json:"faultcode,omitempty"`
	FaultString string `json:"faultstring,omitempty"`
}

// Answer is what the listener says back: an HTTP status and a short
// plain message (never anything from the body).
type Answer struct {
	Status  int
	Message string
}

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,100}$`)

// refusal is a message the listener does not accept.
type refusal struct {
	status int
	reason string
	msg    string
}

func (r *refusal) Error() string { return r.reason }

var (
	errMalformed   = &refusal{http.StatusBadRequest, "malformed", "The body is not a CarrierService callback."}
	errTooBig      = &refusal{http.StatusRequestEntityTooLarge, "too_big", "The body is too big."}
	errCredentials = &refusal{http.StatusUnauthorized, "credentials", "Wrong or missing username and password."}
	errAccount     = &refusal{http.StatusBadRequest, "wrong_account", "The request belongs to another account."}
	errNoStatus    = &refusal{http.StatusBadRequest, "no_outcome", "The message carries no outcome."}
)

// Callback records one CarrierService message. It answers 2xx only once
// the outcome is committed; a redelivery changes nothing and is answered
// 2xx too (ThingSpace retries until it gets one).
func (s *Service) Callback(ctx context.Context, meta models.RequestMeta, body []byte) Answer {
	err := s.callback(ctx, body)
	var ref *refusal
	switch {
	case err == nil:
		return Answer{http.StatusOK, "Recorded."}
	case errors.As(err, &ref):
		s.refuse(ctx, meta, ref)
		return Answer{ref.status, ref.msg}
	}
	s.log.ErrorContext(ctx, "callback not recorded", "request_id", meta.RequestID, "err", err)
	return Answer{http.StatusServiceUnavailable, "Not recorded; send it again."}
}

func (s *Service) callback(ctx context.Context, body []byte) error {
	j, err := s.check(ctx, body)
	if err != nil {
		return err
	}
	// Most callbacks end an open request recorded long before: in a
	// transaction shared with the callbacks arriving at the same moment.
	if ended, err := s.endOpen(ctx, j); err != nil || ended {
		return err
	}
	return s.recordAlone(ctx, j)
}

// recordAlone records j in a transaction of its own.
func (s *Service) recordAlone(ctx context.Context, j *job) error {
	return s.db.WithTx(ctx, func(tx *store.Tx) error { return s.record(ctx, tx, j) })
}

// check reads a message and checks its listener's username and password.
func (s *Service) check(ctx context.Context, body []byte) (*job, error) {
	if len(body) > MaxCallbackBody {
		return nil, errTooBig
	}
	var m Message
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&m); err != nil || !requestIDPattern.MatchString(m.RequestID) || len(m.DeviceIDs) > models.MaxDevicesPerAction {
		return nil, errMalformed
	}
	l, err := s.listenerFor(ctx, m.Username, m.Password)
	if err != nil {
		return nil, err
	}
	st, open := outcomeOf(m)
	if open {
		return nil, errNoStatus
	}
	fault := ""
	if m.FaultResponse != nil {
		fault = strings.TrimSpace(m.FaultResponse.FaultCode + ": " + m.FaultResponse.FaultString)
	}
	fault = models.Clip(strings.TrimPrefix(fault, ": "), 1000)
	return &job{l: l, m: m, st: st, fault: fault}, nil
}

// job is one checked callback to record.
type job struct {
	l     store.ListenerRow
	m     Message
	st    models.RequestStatus
	fault string
}

// record records one message in tx: its request's outcome, a lost
// request's, or the message kept as unmatched. The request id's lock
// orders it with the send's own transaction when the request is not
// there to end at once.
func (s *Service) record(ctx context.Context, tx *store.Tx, j *job) error {
	l, m, now := j.l, j.m, s.now()
	how := ending{status: j.st, how: models.EndedByCallback, fault: j.fault, at: now}
	// An open request may have been committed since endOpen looked: one
	// statement. Only a committed request can match it, so one still being
	// recorded is left to the request id's lock below.
	r, ok, err := s.db.EndOpenRequest(ctx, tx, m.RequestID, l.AccountName, how.end())
	if err != nil || ok {
		if err == nil {
			err = s.ended(ctx, tx, r, how)
		}
		return err
	}
	if err := s.db.LockRequestID(ctx, tx, m.RequestID); err != nil {
		return err
	}
	if r, ok, err = s.db.DeviceRequestByRequestID(ctx, tx, m.RequestID); err != nil {
		return err
	}
	if ok && r.Account != l.AccountName {
		return errAccount
	}
	if ok {
		return s.end(ctx, tx, r, how)
	}
	// Not ours by id: a lost send's, or kept; LockLostMatch orders this
	// with a lost send's record.
	if err := s.db.LockLostMatch(ctx, tx, l.AccountName); err != nil {
		return err
	}
	if r, ok, err = s.db.LostDeviceRequest(ctx, tx, l.AccountName, m.DeviceIDs, now.Add(-models.PollGiveUp)); err != nil || ok {
		how.rid = m.RequestID
		if err == nil {
			err = s.end(ctx, tx, r, how)
		}
		return err
	}
	return s.unmatched(ctx, tx, l, m, j.st, j.fault)
}

// outcomeOf reads a message's outcome: its status, else which response it carries.
func outcomeOf(m Message) (models.RequestStatus, bool) {
	if st, open := models.RequestOutcome(m.Status); !open {
		return st, false
	}
	switch {
	case m.FaultResponse != nil:
		return models.RequestFailed, false
	case len(m.DeviceResponse) > 0 && string(m.DeviceResponse) != "null":
		return models.RequestSucceeded, false
	}
	return models.RequestPending, true
}

// unmatched keeps a message for a request id the portal has not recorded
// and audits it once (a redelivery finds it kept).
func (s *Service) unmatched(ctx context.Context, tx *store.Tx, l store.ListenerRow, m Message, st models.RequestStatus, fault string) error {
	at := s.now()
	fresh, err := s.db.PutInbox(ctx, tx, store.InboxMessage{RequestID: m.RequestID, Account: l.AccountName, Status: st, Fault: fault,
		Devices: m.DeviceIDs, ReceivedAt: at})
	if err != nil || !fresh {
		return err
	}
	e := models.NewEvent(models.EvCallbackUnmatched, nil, models.RequestMeta{}).With("request_id", m.RequestID, "account", l.AccountName,
		"status", string(st), "devices", store.DeviceKeys(m.DeviceIDs))
	if fault != "" {
		e.With("fault", models.Clip(fault, 500))
	}
	e.Department, e.Target = l.Department, "devices:"+l.Department
	return s.db.Audit(ctx, tx, e)
}

// listenerFor finds the department registration whose username the
// message carries and checks its password in constant time.
func (s *Service) listenerFor(ctx context.Context, username, password string) (store.ListenerRow, error) {
	if username == "" || password == "" || len(username) > 200 || len(password) > 200 {
		return store.ListenerRow{}, errCredentials
	}
	l, err := s.db.CallbackListenerByUsername(ctx, username)
	if errors.Is(err, models.ErrNotFound) {
		// Compare anyway, so that an unknown username costs the same.
		subtle.ConstantTimeCompare(digest(password), digest(username))
		return l, errCredentials
	}
	if err != nil {
		return l, err
	}
	want, err := s.keys.Open(l.KeyID, l.PasswordSealed, listenerAAD(l.DepartmentID))
	if err != nil {
		return l, err
	}
	if subtle.ConstantTimeCompare(digest(password), digest(string(want))) != 1 {
		return l, errCredentials
	}
	return l, nil
}

// digest makes the compared values the same length.
func digest(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// refuse audits a refused message, aggregated per source address (anyone
// can send them).
func (s *Service) refuse(ctx context.Context, meta models.RequestMeta, ref *refusal) {
	e := models.NewEvent(models.EvCallbackRefused, nil, meta).With("reason", ref.reason)
	e.Outcome, e.Target = models.OutcomeDenied, "callbacks"
	if err := s.db.AuditAggregated(context.WithoutCancel(ctx), e, meta.SourceIP); err != nil {
		s.log.ErrorContext(ctx, "audit", "code", e.Code, "request_id", meta.RequestID, "err", err)
	}
}
