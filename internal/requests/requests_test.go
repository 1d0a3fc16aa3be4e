package requests_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/requests"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/tsim"
	"github.com/uwsportal/uwsportal/models"
)

// A suspend is pending when sent and succeeded when the callback comes;
// the outcome is audited in the lead's name, linked to the send's event.
func TestSuspendSucceedsByCallback(t *testing.T) {
	t.Parallel()
	e := fleet(t, apptest.Options{})
	e.register(t)
	res := e.suspend(t, e.active(t, 1)...)
	r := e.request(t, res[0].Request)
	if r.Status != models.RequestPending || r.RequestID != res[0].RequestID || r.Actor != lead.Actor || r.UserID != lead.UserID {
		t.Fatalf("request right after the send = %+v", r)
	}
	e.Sim.Wait()
	r = e.want(t, res[0].Request, models.RequestSucceeded, models.EndedByCallback)
	var actor string
	var first int64
	if err := e.DB.Pool.QueryRow(ctx, `SELECT actor, (detail->>'first_event')::bigint FROM audit_events WHERE code = $1`,
		models.EvDeviceRequestSucceeded).Scan(&actor, &first); err != nil {
		t.Fatal(err)
	}
	if actor != lead.Actor || first != r.FirstEvent {
		t.Fatalf("completion event by %s linked to %d, want %s and %d", actor, first, lead.Actor, r.FirstEvent)
	}
	if code := e.count(t, `SELECT count(*) FROM audit_events WHERE id = $1 AND code = $2`, r.FirstEvent, models.EvDeviceSuspend); code != 1 {
		t.Fatal("the request's first event is not the device.suspend event")
	}
	if n := e.Sim.StatusReads(account); n != 0 {
		t.Fatalf("%d status reads after a callback, want 0", n)
	}
	// A poll that comes later changes nothing.
	e.Clock.Advance(time.Hour)
	if n, err := e.App.Requests.PollDue(ctx); err != nil || n != 0 {
		t.Fatalf("poll after the callback: %d, %v", n, err)
	}
	e.NoLeak(e.Sim.Listeners(account)[0].Password)
}

// Without a listener the poller finds the outcome, with back-off.
func TestSuspendSucceedsByPolling(t *testing.T) {
	t.Parallel()
	e := fleet(t, apptest.Options{})
	res := e.suspend(t, e.active(t, 1)...)
	e.Sim.Wait()
	if n, err := e.App.Requests.PollDue(ctx); err != nil || n != 0 {
		t.Fatalf("poll before 10 s: %d, %v", n, err)
	}
	e.Clock.Advance(11 * time.Second)
	if n, err := e.App.Requests.PollDue(ctx); err != nil || n != 1 {
		t.Fatalf("poll at 11 s: %d, %v", n, err)
	}
	e.want(t, res[0].Request, models.RequestSucceeded, models.EndedByPoll)
	if n := e.Sim.StatusReads(account); n != 1 {
		t.Fatalf("%d status reads, want 1", n)
	}
}

// A pending request is read at 10 s, 30 s, 2 min, 10 min, then every
// 30 min, and is unknown after a day.
func TestPollingBacksOffThenGivesUp(t *testing.T) {
	t.Parallel()
	e := fleet(t, apptest.Options{})
	e.Sim.Hold(true) // ThingSpace never finishes it
	res := e.suspend(t, e.active(t, 1)...)
	reads := 0
	for step := 0; step < 24*60*2; step++ { // a day and more, in 30 s steps
		e.Clock.Advance(30 * time.Second)
		n, err := e.App.Requests.PollDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		reads += n
	}
	if reads < 4 || reads > 4+48 {
		t.Fatalf("%d status reads in a day", reads)
	}
	e.want(t, res[0].Request, models.RequestUnknown, "")
	if n := e.count(t, `SELECT count(*) FROM audit_events WHERE code = $1 AND actor = $2`, models.EvDeviceRequestUnknown, lead.Actor); n != 1 {
		t.Fatalf("%d unknown events, want 1", n)
	}
	// A late callback still ends it.
	e.register(t)
	e.Sim.Release()
	e.Sim.Wait()
	e.want(t, res[0].Request, models.RequestSucceeded, models.EndedByCallback)
}

// A failure is recorded with ThingSpace's fault text and notifies the
// person who asked and the department's channels.
func TestFailureArrivesAndNotifies(t *testing.T) {
	t.Parallel()
	e := fleet(t, apptest.Options{})
	e.register(t)
	e.Sim.FailNext(account, "The line could not be suspended.")
	res := e.suspend(t, e.active(t, 1)...)
	e.Sim.Wait()
	r := e.want(t, res[0].Request, models.RequestFailed, models.EndedByCallback)
	if !strings.Contains(r.Fault, "could not be suspended") {
		t.Fatalf("fault = %q", r.Fault)
	}
	var recipients []int64
	var dept string
	if err := e.DB.Pool.QueryRow(ctx, `SELECT recipients, department FROM notify_outbox WHERE event = $1`,
		string(models.NotifyDeviceFailed)).Scan(&recipients, &dept); err != nil {
		t.Fatalf("no device-failed notification: %v", err)
	}
	if dept != "fleet" || !slices.Contains(recipients, lead.UserID) {
		t.Fatalf("notification to %v in %s, want the lead in fleet", recipients, dept)
	}
}

// A callback that arrives before the send's own transaction commits is
// kept and applied when the send is recorded.
func TestCallbackBeforeTheSendIsRecordedIsNotLost(t *testing.T) {
	t.Parallel()
	e := fleet(t, apptest.Options{})
	e.register(t)
	user, pw := e.credentials(t)
	dev := e.active(t, 1)[0]
	body := message(t, requests.Message{Username: user, Password: pw, RequestID: "early-1", DeviceIDs: []models.DeviceID{dev},
		Status: "Success", CallbackCount: 1, MaxCallbackThreshold: 4})
	if code := e.post(t, body); code != http.StatusOK {
		t.Fatalf("early callback answered %d", code)
	}
	id := e.accepted(t, "early-1", dev)
	e.want(t, id, models.RequestSucceeded, models.EndedByCallback)
	// Redelivered: nothing more.
	if code := e.post(t, body); code != http.StatusOK {
		t.Fatalf("redelivery answered %d", code)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_events WHERE code = $1`, models.EvDeviceRequestSucceeded); n != 1 {
		t.Fatalf("%d completion events, want 1", n)
	}
}

// Duplicate and late callbacks change nothing; a late failure does not
// overturn a success.
func TestDuplicateAndLateCallbacksChangeNothing(t *testing.T) {
	t.Parallel()
	e := fleet(t, apptest.Options{})
	e.register(t)
	res := e.suspend(t, e.active(t, 1)...)
	e.Sim.Wait()
	user, pw := e.credentials(t)
	before := e.count(t, `SELECT count(*) FROM audit_events`)
	for _, st := range []string{"Success", "Failed", "Success"} {
		m := requests.Message{Username: user, Password: pw, RequestID: res[0].RequestID, DeviceIDs: []models.DeviceID{res[0].Device},
			Status: st, CallbackCount: 2}
		if st == "Failed" {
			m.FaultResponse = &requests.Fault{FaultCode: "X", FaultString: "late"}
		}
		if code := e.post(t, message(t, m)); code != http.StatusOK {
			t.Fatalf("redelivery answered %d", code)
		}
	}
	e.want(t, res[0].Request, models.RequestSucceeded, models.EndedByCallback)
	if after := e.count(t, `SELECT count(*) FROM audit_events`); after != before {
		t.Fatalf("redeliveries wrote %d audit events", after-before)
	}
}

// A lost send answer is unknown, then resolved by the callback that names
// its devices, or by a read of the device.
func TestLostAnswerBecomesUnknownThenResolved(t *testing.T) {
	t.Parallel()
	for _, how := range []string{models.EndedByCallback, models.EndedByPoll} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			e := fleet(t, apptest.Options{})
			if how == models.EndedByCallback {
				e.register(t)
			}
			if err := e.Sim.SetFaults("fleet_uws", tsim.Faults{DeviceActionDropAfter: true}); err != nil {
				t.Fatal(err)
			}
			res := e.suspend(t, e.active(t, 1)...)
			if res[0].Outcome != "unknown" {
				t.Fatalf("outcome = %s, want unknown", res[0].Outcome)
			}
			e.want(t, res[0].Request, models.RequestUnknown, "")
			if err := e.Sim.ClearFaults("fleet_uws"); err != nil {
				t.Fatal(err)
			}
			e.Sim.Wait()
			if how == models.EndedByPoll {
				e.Clock.Advance(11 * time.Second)
				if _, err := e.App.Requests.PollDue(ctx); err != nil {
					t.Fatal(err)
				}
			}
			r := e.want(t, res[0].Request, models.RequestSucceeded, how)
			if how == models.EndedByCallback && r.RequestID == "" {
				t.Fatal("the callback's request id was not kept")
			}
		})
	}
}

// A callback that comes while the send's own transaction is still open
// waits on the request id's lock and, once that transaction commits,
// finds the request and ends it.
func TestCallbackDuringTheSendsTransactionWaitsForIt(t *testing.T) {
	t.Parallel()
	e := fleet(t, apptest.Options{})
	e.register(t)
	user, pw := e.credentials(t)
	dev := e.active(t, 1)[0]
	body := message(t, requests.Message{Username: user, Password: pw, RequestID: "race-1", DeviceIDs: []models.DeviceID{dev}, Status: "Success"})
	answered := make(chan int, 1)
	var id int64
	err := e.DB.WithTx(ctx, func(tx *store.Tx) error {
		if err := e.DB.LockRequestID(ctx, tx, "race-1"); err != nil {
			return err
		}
		go func() { answered <- e.postStatus(body) }()
		select {
		case code := <-answered:
			return fmt.Errorf("the callback was answered (%d) while the send's transaction held the request id", code)
		case <-time.After(300 * time.Millisecond):
		}
		var err error
		id, err = e.DB.CreateDeviceRequest(ctx, tx, models.DeviceRequest{RequestID: "race-1", Department: "fleet", Account: account,
			Actor: lead.Actor, ActorName: lead.Name, Operation: models.OpSuspend, Devices: []models.DeviceID{dev}, SentAt: e.Clock.Now(),
			Status: models.RequestPending})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if code := <-answered; code != http.StatusOK {
		t.Fatalf("callback answered %d", code)
	}
	e.want(t, id, models.RequestSucceeded, models.EndedByCallback)
	if n := e.count(t, `SELECT count(*) FROM callback_inbox`); n != 0 {
		t.Fatalf("%d messages kept as unmatched", n)
	}
}
