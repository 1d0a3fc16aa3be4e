// Package requests follows every device action the portal sends upstream
// to its end. ThingSpace answers an action with a request id only; the
// outcome arrives later as a CarrierService callback (the portal is each
// department account's listener) or is read from the request status
// endpoint (polling, for deployments without an inbound address and for
// callbacks that got lost). Every send and every outcome is recorded in
// device_requests and audited in the name of who asked.
package requests

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/uwsportal/uwsportal/internal/departments"
	"github.com/uwsportal/uwsportal/internal/metrics"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/internal/upstream"
	"github.com/uwsportal/uwsportal/models"
)

// Deps are what Service is built from.
type Deps struct {
	DB          *store.DB
	Keys        *secret.Keyring
	Upstream    *upstream.Service
	Departments *departments.Service
	Log         *slog.Logger
	Metrics     *metrics.Metrics // may be nil
	Now         func() time.Time
	// CallbackURL is the listener's public address, the one ThingSpace
	// can reach (UWSPORTAL_CALLBACK_URL); "" means no callbacks: polling.
	CallbackURL string
	Poll        PollOptions
	// CheckTarget refuses a client listener URL the portal must not call
	// (default PublicTarget).
	CheckTarget func(*url.URL) error
	// HTTPClient delivers the clients' callbacks (default: 10 s timeout,
	// no redirects).
	HTTPClient *http.Client
}

// Service is the device request use cases.
type Service struct {
	db          *store.DB
	keys        *secret.Keyring
	up          *upstream.Service
	depts       *departments.Service
	log         *slog.Logger
	now         func() time.Time
	callbackURL string
	poll        PollOptions
	checkTarget func(*url.URL) error
	hc          *http.Client
	batch       batch // callbacks recorded together (batch.go)
}

// New builds the service.
func New(d Deps) *Service {
	if d.CheckTarget == nil {
		d.CheckTarget = PublicTarget
	}
	if d.HTTPClient == nil {
		d.HTTPClient = &http.Client{Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return &Service{db: d.DB, keys: d.Keys, up: d.Upstream, depts: d.Departments, log: d.Log, now: d.Now,
		callbackURL: d.CallbackURL, poll: d.Poll.withDefaults(), checkTarget: d.CheckTarget, hc: d.HTTPClient}
}

// Outcome of a send, as the use case that made it saw it.
type Outcome int

const (
	Accepted Outcome = iota // ThingSpace answered with a request id: pending
	Refused                 // ThingSpace refused it: failed at once
	Lost                    // the answer was lost: unknown
)

// Sent is one action sent upstream, as its use case tells it.
type Sent struct {
	P          *models.Principal
	Meta       models.RequestMeta
	Department string
	Account    string
	ClientID   string // the API client that asked, if an application did
	Op         models.Operation
	Devices    []models.DeviceID
	RequestID  string
	Outcome    Outcome
	Fault      string // a refusal's code
	// Event records the send (device.<op> for a person); it is appended in
	// the transaction that records the request. Nil: device.request.sent.
	Event *models.AuditEvent
}

// Record writes the request and its send's audit event in one
// transaction. A callback that overtook it (kept in the inbox under the
// same request id lock) is applied before it commits, so none is lost.
func (s *Service) Record(ctx context.Context, in Sent) (int64, error) {
	now := s.now()
	r := models.DeviceRequest{RequestID: in.RequestID, Department: in.Department, Account: in.Account, ClientID: in.ClientID,
		Operation: in.Op, Devices: in.Devices, SentAt: now, Status: models.RequestPending}
	if !in.P.Anonymous() {
		r.Actor, r.ActorName, r.UserID = in.P.Actor, in.P.Name, in.P.UserID
	} else {
		r.Actor = models.ActorSystem
	}
	switch in.Outcome {
	case Refused:
		r.Status, r.EndedAt, r.EndedBy, r.Fault = models.RequestFailed, &now, models.EndedByAnswer, in.Fault
	case Lost:
		r.Status, r.RequestID = models.RequestUnknown, ""
	}
	if r.Status != models.RequestFailed {
		if at, ok := models.NextPoll(now, 0); ok {
			r.NextPollAt = &at
		}
	}
	e := in.Event
	if e == nil {
		e = models.NewEvent(models.EvDeviceRequestSent, in.P, in.Meta).With("request_id", r.RequestID, "operation", string(in.Op),
			"account", in.Account, "devices", store.DeviceKeys(in.Devices), "status", string(r.Status), "client_id", in.ClientID)
		e.Department, e.Target = in.Department, "devices:"+in.Department
		if r.Status == models.RequestFailed {
			e.Outcome = models.OutcomeFailure
		}
	}
	var id int64
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		if err := s.lockFor(ctx, tx, r); err != nil {
			return err
		}
		if err := s.db.Audit(ctx, tx, e); err != nil {
			return err
		}
		r.FirstEvent = e.ID
		var outcome *ending
		var err error
		if id, outcome, err = s.create(ctx, tx, r); err != nil {
			return err
		}
		r.ID = id
		if outcome != nil {
			return s.end(ctx, tx, r, *outcome)
		}
		return s.takeEarly(ctx, tx, r)
	})
	if err != nil {
		return 0, fmt.Errorf("record %s request in %s: %w", in.Op, in.Department, err)
	}
	return id, nil
}

// sendTakesAtMost bounds how long before its record a send began: a
// login, two bearer fetches and two sends, each within the upstream
// timeout. A callback can come no earlier than its send.
const sendTakesAtMost = 5 * thingspace.DefaultTimeout

// lockFor orders r's record with the callbacks that may be its outcome:
// those naming its request id or, for a lost answer, its account's
// callbacks whose request id no recorded request holds.
func (s *Service) lockFor(ctx context.Context, tx *store.Tx, r models.DeviceRequest) error {
	switch {
	case r.RequestID != "":
		return s.db.LockRequestID(ctx, tx, r.RequestID)
	case r.Status == models.RequestUnknown:
		return s.db.LockLostMatch(ctx, tx, r.Account)
	}
	return nil
}

// takeEarly applies a callback that came before r was recorded: the one
// naming its request id or, if its answer was lost, the oldest kept
// since its send began that names one of its devices.
func (s *Service) takeEarly(ctx context.Context, tx *store.Tx, r models.DeviceRequest) error {
	var (
		m   store.InboxMessage
		ok  bool
		err error
	)
	switch {
	case r.RequestID != "":
		m, ok, err = s.db.TakeInbox(ctx, tx, r.RequestID, r.ID)
	case r.Status == models.RequestUnknown:
		m, ok, err = s.db.TakeLostInbox(ctx, tx, r.Account, r.Devices, r.SentAt.Add(-sendTakesAtMost), r.ID)
	}
	if err != nil || !ok {
		return err
	}
	how := ending{status: m.Status, how: models.EndedByCallback, fault: m.Fault, at: m.ReceivedAt, early: true}
	if r.RequestID == "" {
		how.rid = m.RequestID
	}
	return s.end(ctx, tx, r, how)
}

// ending is how a request ends.
type ending struct {
	status models.RequestStatus
	how    string
	fault  string
	at     time.Time
	rid    string // a lost request's id, learned from its callback
	early  bool   // the callback came before the send was recorded
}

// end records r's outcome and its audit event, in the name of who asked
// and linked to the send's event; nothing if r already ended (a
// duplicate or late callback, a poll that lost the race).
func (s *Service) end(ctx context.Context, tx *store.Tx, r models.DeviceRequest, how ending) error {
	ok, err := s.db.EndDeviceRequest(ctx, tx, r.ID, how.end())
	if err != nil || !ok {
		return err
	}
	return s.ended(ctx, tx, r, how)
}

// end is how as the store records it.
func (how ending) end() store.RequestEnd {
	return store.RequestEnd{Status: how.status, By: how.how, Fault: how.fault, At: how.at, RequestID: how.rid}
}

// ended records the audit event of r, which has just ended as how says,
// and queues its application's callback.
func (s *Service) ended(ctx context.Context, tx *store.Tx, r models.DeviceRequest, how ending) error {
	if err := s.queueClientCallback(ctx, tx, r); err != nil {
		return err
	}
	return s.db.Audit(ctx, tx, endedEvent(r, how))
}

// endedEvent is the audit event of r, which has just ended as how says.
func endedEvent(r models.DeviceRequest, how ending) *models.AuditEvent {
	if r.RequestID == "" {
		r.RequestID = how.rid
	}
	code := models.EvDeviceRequestSucceeded
	if how.status == models.RequestFailed {
		code = models.EvDeviceRequestFailed
	}
	e := models.NewEvent(code, r.Principal(), models.RequestMeta{})
	e.Department, e.Target = r.Department, "device_request:"+strconv.FormatInt(r.ID, 10)
	e.With("request", r.ID, "request_id", r.RequestID, "operation", string(r.Operation), "devices", store.DeviceKeys(r.Devices),
		"how", how.how, "first_event", r.FirstEvent, "took_seconds", int64(how.at.Sub(r.SentAt).Seconds()))
	if how.status == models.RequestFailed {
		e.Outcome = models.OutcomeFailure
		e.With("fault", models.Clip(how.fault, 500))
	}
	if how.early {
		e.With("early_callback", true)
	}
	return e
}
