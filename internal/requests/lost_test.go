package requests_test

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/requests"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

// lostSend is the record of a suspend of dev whose answer was lost.
func lostSend(dev models.DeviceID) requests.Sent {
	return requests.Sent{P: lead, Meta: apptest.Meta, Department: "fleet", Account: account, Op: models.OpSuspend,
		Devices: []models.DeviceID{dev}, Outcome: requests.Lost}
}

// A callback that comes before a lost send is recorded names a request
// id the portal never learned: it is kept, and the lost send takes it
// when it is recorded, rather than waiting for a poll.
func TestCallbackBeforeALostSendIsRecordedIsNotLost(t *testing.T) {
	t.Parallel()
	e := fleet(t, apptest.Options{})
	e.register(t)
	user, pw := e.credentials(t)
	devs := e.active(t, 2)
	// A message for the other device stays in the inbox.
	for i, dev := range devs {
		body := message(t, requests.Message{Username: user, Password: pw, RequestID: fmt.Sprintf("lost-early-%d", i),
			DeviceIDs: []models.DeviceID{dev}, Status: "Success"})
		if code := e.post(t, body); code != http.StatusOK {
			t.Fatalf("early callback answered %d", code)
		}
	}
	id, err := e.App.Requests.Record(ctx, lostSend(devs[0]))
	if err != nil {
		t.Fatal(err)
	}
	r := e.want(t, id, models.RequestSucceeded, models.EndedByCallback)
	if r.RequestID != "lost-early-0" {
		t.Fatalf("request id %q, want the callback's lost-early-0", r.RequestID)
	}
	if n := e.count(t, `SELECT count(*) FROM callback_inbox WHERE matched IS NULL`); n != 1 {
		t.Fatalf("%d messages left unmatched, want 1 (the other device's)", n)
	}
}

// A stale message, received before the send could have started, is not
// taken for a lost send's outcome.
func TestALostSendLeavesAStaleMessage(t *testing.T) {
	t.Parallel()
	e := fleet(t, apptest.Options{})
	e.register(t)
	user, pw := e.credentials(t)
	dev := e.active(t, 1)[0]
	body := message(t, requests.Message{Username: user, Password: pw, RequestID: "stale-1", DeviceIDs: []models.DeviceID{dev}, Status: "Success"})
	if code := e.post(t, body); code != http.StatusOK {
		t.Fatalf("callback answered %d", code)
	}
	e.Clock.Advance(time.Hour)
	id, err := e.App.Requests.Record(ctx, lostSend(dev))
	if err != nil {
		t.Fatal(err)
	}
	e.want(t, id, models.RequestUnknown, "")
}

// A callback that comes while a lost send's transaction is still open
// waits for it, then finds the lost request and ends it.
func TestCallbackDuringALostSendsTransactionWaitsForIt(t *testing.T) {
	t.Parallel()
	e := fleet(t, apptest.Options{})
	e.register(t)
	user, pw := e.credentials(t)
	dev := e.active(t, 1)[0]
	body := message(t, requests.Message{Username: user, Password: pw, RequestID: "race-lost-1", DeviceIDs: []models.DeviceID{dev}, Status: "Success"})
	var id int64
	var code int
	e.whileLostMatchHeld(t, "the callback", func(tx *store.Tx) error {
		var err error
		id, err = e.DB.CreateDeviceRequest(ctx, tx, models.DeviceRequest{Department: "fleet", Account: account, Actor: lead.Actor,
			ActorName: lead.Name, Operation: models.OpSuspend, Devices: []models.DeviceID{dev}, SentAt: e.Clock.Now(),
			Status: models.RequestUnknown})
		return err
	}, func() { code = e.postStatus(body) })
	if code != http.StatusOK {
		t.Fatalf("callback answered %d", code)
	}
	if r := e.want(t, id, models.RequestSucceeded, models.EndedByCallback); r.RequestID != "race-lost-1" {
		t.Fatalf("request id %q, want race-lost-1", r.RequestID)
	}
}

// A lost send recorded while a callback is being kept as unmatched waits
// for it, then takes the kept message.
func TestALostSendWaitsForACallbackBeingKept(t *testing.T) {
	t.Parallel()
	e := fleet(t, apptest.Options{})
	dev := e.active(t, 1)[0]
	var id int64
	var err error
	e.whileLostMatchHeld(t, "the lost send's record", func(tx *store.Tx) error {
		_, err := e.DB.PutInbox(ctx, tx, store.InboxMessage{RequestID: "kept-1", Account: account, Status: models.RequestSucceeded,
			Devices: []models.DeviceID{dev}, ReceivedAt: e.Clock.Now(), AuditEvent: 1})
		return err
	}, func() { id, err = e.App.Requests.Record(ctx, lostSend(dev)) })
	if err != nil {
		t.Fatal(err)
	}
	if r := e.want(t, id, models.RequestSucceeded, models.EndedByCallback); r.RequestID != "kept-1" {
		t.Fatalf("request id %q, want kept-1", r.RequestID)
	}
}

// A lost send takes, by its device, a callback whose own send was not
// recorded yet. When that send is recorded, its request id and outcome
// go to it: its record and audit event are not lost, and the lost
// request is open again, to be resolved by its own callback or a poll.
func TestAnAcceptedSendTakesBackItsRequestID(t *testing.T) {
	t.Parallel()
	e := fleet(t, apptest.Options{})
	e.register(t)
	user, pw := e.credentials(t)
	dev := e.active(t, 1)[0]
	lost, err := e.App.Requests.Record(ctx, lostSend(dev))
	if err != nil {
		t.Fatal(err)
	}
	body := message(t, requests.Message{Username: user, Password: pw, RequestID: "taken-1", DeviceIDs: []models.DeviceID{dev},
		Status: "Failed", FaultResponse: &requests.Fault{FaultCode: "E1", FaultString: "no"}})
	if code := e.post(t, body); code != http.StatusOK {
		t.Fatalf("callback answered %d", code)
	}
	e.want(t, lost, models.RequestFailed, models.EndedByCallback) // by its device: the best it could know then
	sent := lostSend(dev)
	sent.RequestID, sent.Outcome = "taken-1", requests.Accepted
	id, err := e.App.Requests.Record(ctx, sent)
	if err != nil {
		t.Fatalf("the send whose request id a lost request took was not recorded: %v", err)
	}
	if r := e.want(t, id, models.RequestFailed, models.EndedByCallback); r.RequestID != "taken-1" || r.Fault == "" {
		t.Fatalf("request id %q, fault %q: want taken-1 and the callback's fault", r.RequestID, r.Fault)
	}
	r := e.want(t, lost, models.RequestUnknown, "")
	if r.RequestID != "" || r.NextPollAt == nil || r.Fault != "" {
		t.Fatalf("the lost request kept request id %q, fault %q, next poll %v", r.RequestID, r.Fault, r.NextPollAt)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_events WHERE code = $1 AND detail->>'request' = $2 AND detail->>'request_id' = 'taken-1'`,
		models.EvDeviceRequestReopened, strconv.FormatInt(lost, 10)); n != 1 {
		t.Fatalf("%d reopening events for the lost request, want 1", n)
	}
	// Its own outcome still ends it, by poll here.
	e.Clock.Advance(11 * time.Second)
	if _, err := e.App.Requests.PollDue(ctx); err != nil {
		t.Fatal(err)
	}
	if r := e.request(t, lost); r.Status == models.RequestUnknown && r.Polls == 0 {
		t.Fatal("the reopened request was not polled")
	}
}

// whileLostMatchHeld runs hold in a transaction that holds the account's
// lost-match lock, starts other beside it and fails unless other is still
// waiting 300 ms later; it returns once other has finished, after the
// transaction committed.
func (e *env) whileLostMatchHeld(t *testing.T, what string, hold func(tx *store.Tx) error, other func()) {
	t.Helper()
	done := make(chan struct{})
	err := e.DB.WithTx(ctx, func(tx *store.Tx) error {
		if err := e.DB.LockLostMatch(ctx, tx, account); err != nil {
			return err
		}
		if err := hold(tx); err != nil {
			return err
		}
		go func() { other(); close(done) }()
		select {
		case <-done:
			return fmt.Errorf("%s went on while the account's lost-match lock was held", what)
		case <-time.After(300 * time.Millisecond):
			return nil
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	<-done
}
