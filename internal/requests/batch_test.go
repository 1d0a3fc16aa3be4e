package requests_test

import (
	"fmt"
	"testing"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/requests"
	"github.com/uwsportal/uwsportal/models"
)

// Callbacks that arrive together end their requests in one transaction,
// each with its own audit event in the chain. A redelivery in the same
// batch, and a message for a request the portal never recorded, are
// recorded alone as before, and change nothing they should not.
func TestCallbacksArrivingTogetherShareATransaction(t *testing.T) {
	t.Parallel()
	e := fleet(t, apptest.Options{})
	e.register(t)
	user, pw := e.credentials(t)
	devs := e.active(t, 5)
	ids := make([]int64, len(devs))
	for i, d := range devs {
		ids[i] = e.accepted(t, fmt.Sprint("together-", i), d)
	}
	body := func(rid string, dev models.DeviceID, status string) []byte {
		return message(t, requests.Message{Username: user, Password: pw, RequestID: rid, DeviceIDs: []models.DeviceID{dev}, Status: status})
	}
	var bodies [][]byte
	for i, d := range devs {
		status := "Success"
		if i == 3 {
			status = "Failed"
		}
		bodies = append(bodies, body(fmt.Sprint("together-", i), d, status))
	}
	bodies = append(bodies, body("together-0", devs[0], "Failed"), body("never-sent", devs[4], "Success"))
	before := e.DB.Transactions()
	for i, err := range e.App.Requests.CallbacksTogether(ctx, bodies) {
		if err != nil {
			t.Fatalf("callback %d: %v", i, err)
		}
	}
	// One for the batch, one each for the redelivery and the unknown id.
	if n := e.DB.Transactions() - before; n != 3 {
		t.Errorf("%d transactions for a batch, a redelivery and an unknown id, want 3", n)
	}
	for i, id := range ids {
		want, code := models.RequestSucceeded, models.EvDeviceRequestSucceeded
		if i == 3 {
			want, code = models.RequestFailed, models.EvDeviceRequestFailed
		}
		e.want(t, id, want, models.EndedByCallback)
		if n := e.count(t, `SELECT count(*) FROM audit_events WHERE code = $1 AND detail->>'request' = $2`, code, fmt.Sprint(id)); n != 1 {
			t.Errorf("request %d: %d %s events, want 1", id, n, code)
		}
	}
	if n := e.count(t, `SELECT count(*) FROM callback_inbox WHERE request_id = 'never-sent'`); n != 1 {
		t.Errorf("the message for an unknown request id was kept %d times, want 1", n)
	}
	res, err := e.DB.VerifyAudit(ctx)
	if err != nil || !res.OK {
		t.Fatalf("the chain after a batch: %+v %v", res, err)
	}
}

// A callback whose record fails (here its audit event is refused) fails
// alone: the batch is retried one callback at a time, its neighbours are
// recorded, and its own request stays open for ThingSpace's next delivery.
func TestACallbackThatFailsDoesNotFailItsBatch(t *testing.T) {
	t.Parallel()
	e := fleet(t, apptest.Options{})
	e.register(t)
	user, pw := e.credentials(t)
	devs := e.active(t, 3)
	var ids []int64
	var bodies [][]byte
	for i, rid := range []string{"batch-a", "batch-bad", "batch-c"} {
		ids = append(ids, e.accepted(t, rid, devs[i]))
		bodies = append(bodies, message(t, requests.Message{Username: user, Password: pw, RequestID: rid, DeviceIDs: devs[i : i+1], Status: "Success"}))
	}
	if _, err := e.DB.Pool.Exec(ctx, `CREATE FUNCTION refuse_batch_bad() RETURNS trigger LANGUAGE plpgsql AS
	    $$ BEGIN IF NEW.detail->>'request_id' = 'batch-bad' THEN RAISE EXCEPTION 'refused for the test'; END IF; RETURN NEW; END $$;
	    CREATE TRIGGER refuse_batch_bad BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_batch_bad()`); err != nil {
		t.Fatal(err)
	}
	errs := e.App.Requests.CallbacksTogether(ctx, bodies)
	if errs[0] != nil || errs[1] == nil || errs[2] != nil {
		t.Fatalf("callbacks: %v, want only batch-bad's to fail", errs)
	}
	e.want(t, ids[0], models.RequestSucceeded, models.EndedByCallback)
	e.want(t, ids[2], models.RequestSucceeded, models.EndedByCallback)
	if r := e.request(t, ids[1]); r.Status != models.RequestPending {
		t.Fatalf("the failed callback's request is %s, want still pending", r.Status)
	}
}
