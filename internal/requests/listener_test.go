package requests_test

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/requests"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/internal/tsim"
	"github.com/uwsportal/uwsportal/models"
)

// Wrong or missing credentials are refused, audited (grouped per
// address), and nothing is recorded as an outcome.
func TestWrongCallbackCredentialsAreRefused(t *testing.T) {
	t.Parallel()
	e := fleet(t, apptest.Options{})
	e.register(t)
	e.Sim.Hold(true)
	res := e.suspend(t, e.active(t, 1)...)
	user, pw := e.credentials(t)
	for _, c := range []struct{ user, pw string }{{"", ""}, {user, ""}, {user, pw + "x"}, {"someone-else", pw}, {strings.ToUpper(user), pw}} {
		m := requests.Message{Username: c.user, Password: c.pw, RequestID: res[0].RequestID, DeviceIDs: []models.DeviceID{res[0].Device}, Status: "Success"}
		if code := e.post(t, message(t, m)); code != http.StatusUnauthorized {
			t.Fatalf("credentials %q/%d chars answered %d, want 401", c.user, len(c.pw), code)
		}
	}
	e.want(t, res[0].Request, models.RequestPending, "")
	if n := e.count(t, `SELECT count(*) FROM audit_events WHERE code = $1`, models.EvCallbackRefused); n != 1 {
		t.Fatalf("%d refusal events, want 1 (the rest grouped)", n)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_events WHERE code LIKE 'device.request.%' OR code = $1`, models.EvCallbackUnmatched); n != 0 {
		t.Fatalf("%d outcome events after refusals", n)
	}
	e.NoLeak(pw)
}

// Bad bodies get a clear answer and change nothing; an unknown request id
// is recorded as its own event, once.
func TestBadCallbackBodies(t *testing.T) {
	t.Parallel()
	e := fleet(t, apptest.Options{})
	e.register(t)
	e.Sim.Hold(true)
	res := e.suspend(t, e.active(t, 1)...)
	user, pw := e.credentials(t)
	ok := func(rid, status string) []byte {
		return message(t, requests.Message{Username: user, Password: pw, RequestID: rid, DeviceIDs: []models.DeviceID{{Kind: "mdn", ID: "5550000000"}}, Status: status})
	}
	cases := []struct {
		name string
		body []byte
		want int
	}{
		{"not json", []byte("{not json"), http.StatusBadRequest},
		{"array", []byte(`[1,2]`), http.StatusBadRequest},
		{"no request id", ok("", "Success"), http.StatusBadRequest},
		{"odd request id", ok("<script>", "Success"), http.StatusBadRequest},
		{"huge", []byte(`{"requestId":"` + strings.Repeat("a", requests.MaxCallbackBody) + `"}`), http.StatusRequestEntityTooLarge},
		{"no outcome", ok("x-1", "Pending"), http.StatusBadRequest},
		{"unknown request id", ok("not-ours-1", "Success"), http.StatusOK},
		{"unknown request id again", ok("not-ours-1", "Success"), http.StatusOK},
	}
	for _, c := range cases {
		if code := e.post(t, c.body); code != c.want {
			t.Errorf("%s answered %d, want %d", c.name, code, c.want)
		}
	}
	if n := e.count(t, `SELECT count(*) FROM audit_events WHERE code = $1 AND detail->>'request_id' = 'not-ours-1'`, models.EvCallbackUnmatched); n != 1 {
		t.Fatalf("%d unmatched events, want 1", n)
	}
	// Wrong account: another department's listener names fleet's request.
	e.Seed("beta", "beta_uws", models.ProtocolREST)
	if err := e.App.Departments.SetAccount(ctx, e.Admin, apptest.Meta, "beta", "0000999999-00001"); err != nil {
		t.Fatal(err)
	}
	e.Sim.SeedDevices("0000999999-00001", 1, 3)
	if err := e.App.Requests.Register(ctx, e.Admin, apptest.Meta, "beta"); err != nil {
		t.Fatal(err)
	}
	bu, bp := e.Sim.Listeners("0000999999-00001")[0].Username, e.Sim.Listeners("0000999999-00001")[0].Password
	wrong := message(t, requests.Message{Username: bu, Password: bp, RequestID: res[0].RequestID, DeviceIDs: []models.DeviceID{res[0].Device}, Status: "Failed"})
	if code := e.post(t, wrong); code != http.StatusBadRequest {
		t.Fatalf("wrong account answered %d, want 400", code)
	}
	e.want(t, res[0].Request, models.RequestPending, "")
}

// Two instances polling at once ask about each pending request once.
func TestTwoInstancesPollEachRequestOnce(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	e := fleet(t, apptest.Options{DB: apptest.OpenDB(t, url), Poll: requests.PollOptions{PerPass: 100, PerAccount: 100}})
	e.Sim.Hold(true)
	second := e.Second(apptest.OpenDB(t, url))
	res := e.suspend(t, e.active(t, 8)...)
	e.Clock.Advance(11 * time.Second)
	var wg sync.WaitGroup
	counts := make([]int, 4)
	for i := range counts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			app := e.App
			if i%2 == 1 {
				app = second.App
			}
			n, err := app.Requests.PollDue(ctx)
			if err != nil {
				t.Error(err)
			}
			counts[i] = n
		}()
	}
	wg.Wait()
	total := 0
	for _, n := range counts {
		total += n
	}
	if total != len(res) || e.Sim.StatusReads(account) != len(res) {
		t.Fatalf("%d requests polled (%v), %d status reads, want %d each", total, counts, e.Sim.StatusReads(account), len(res))
	}
}

// The per-account bound: one pass reads at most PerAccount requests of
// an account.
func TestPollingIsBoundedPerAccount(t *testing.T) {
	t.Parallel()
	e := fleet(t, apptest.Options{Poll: requests.PollOptions{PerPass: 50, PerAccount: 3}})
	e.Sim.Hold(true)
	e.suspend(t, e.active(t, 7)...)
	e.Clock.Advance(11 * time.Second)
	for _, want := range []int{3, 3, 1} {
		if n, err := e.App.Requests.PollDue(ctx); err != nil || n != want {
			t.Fatalf("pass polled %d (%v), want %d", n, err, want)
		}
	}
}

// A pass over its bound reads the requests due first and leases only
// those, in one statement: the rest stay free for another instance, and
// nothing is given back afterwards.
func TestAPassLeasesTheEarliestDueOnly(t *testing.T) {
	t.Parallel()
	e := fleet(t, apptest.Options{})
	e.Sim.Hold(true)
	res := e.suspend(t, e.active(t, 5)...)
	// Due in the reverse of the order sent: the last sent is due first.
	if _, err := e.DB.Pool.Exec(ctx, `UPDATE device_requests SET next_poll_at = $1::timestamptz - id * interval '1 second'`, e.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	claimed, err := e.DB.ClaimDueRequests(ctx, e.Clock.Now(), time.Minute, 2, 5)
	if err != nil {
		t.Fatal(err)
	}
	got := []int64{}
	for _, r := range claimed {
		got = append(got, r.ID)
	}
	if want := []int64{res[4].Request, res[3].Request}; !slices.Equal(got, want) {
		t.Fatalf("claimed %v, want the two due first %v", got, want)
	}
	if n := e.count(t, `SELECT count(*) FROM device_requests WHERE claimed_until IS NOT NULL`); n != 2 {
		t.Fatalf("%d requests leased, want 2", n)
	}
}

// A change made in ThingSpace Manage arrives with a request id nobody here
// sent: it is recorded as its own audit event, once, and ends nothing.
func TestChangeMadeOutsideThePortalIsItsOwnEvent(t *testing.T) {
	t.Parallel()
	e := fleet(t, apptest.Options{})
	e.register(t)
	e.Sim.Hold(true)
	res := e.suspend(t, e.active(t, 1)...)
	other := e.active(t, 2)[1]
	e.Sim.Hold(false)
	rid := e.Sim.ForeignChange(account, tsim.ActionSuspend, tsim.DeviceID{Kind: other.Kind, ID: other.ID})
	e.Sim.Wait()
	if n := e.count(t, `SELECT count(*) FROM audit_events WHERE code = $1 AND detail->>'request_id' = $2 AND department = 'fleet'`,
		models.EvCallbackUnmatched, rid); n != 1 {
		t.Fatalf("%d unmatched events for the outside change, want 1", n)
	}
	e.want(t, res[0].Request, models.RequestPending, "")
}
