package rotation_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/rotation"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/internal/tsim"
	"github.com/uwsportal/uwsportal/models"
)

// Issue 13, path 3: a scheduler pass whose context ends (SIGTERM) while
// the reset is in flight still stores the new password and verifies it.
func TestSchedulerRotationOutlivesItsContext(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{})
	e.Seed("fleet", "fleet_uws", models.ProtocolREST)
	e.Age("fleet", 91*24*time.Hour)
	if err := e.Sim.SetFaults("fleet_uws", tsim.Faults{Latency: 200 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.Sim.SetHook(func(r *http.Request) {
		if r.Method == http.MethodPut {
			cancel() // SIGTERM while the reset is on the wire
		}
	})
	sc := e.App.Rotation.NewScheduler(rotation.SchedulerOptions{Jitter: -1})
	defer sc.Close()
	if _, err := sc.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	e.Sim.SetHook(nil)
	up := e.Sim.User(t, "fleet_uws")
	row := e.Row("fleet")
	if up.ResetsApplied != 1 || e.Stored("fleet") != up.Password || row.State != "idle" || up.LoginFailures != 0 {
		t.Fatalf("row %+v upstream %+v", row, up)
	}
}

// Issue 13, path 7: recovery does not take over a rotation whose owner is
// alive (it holds the account lock), however long it has been running.
func TestRecoverySkipsALiveRotation(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	e := apptest.New(t, apptest.Options{DB: apptest.OpenDB(t, url)})
	e.Seed("fleet", "fleet_uws", models.ProtocolREST)
	if err := e.Sim.SetFaults("fleet_uws", tsim.Faults{Latency: 300 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var (
		wg  sync.WaitGroup
		res rotation.Result
		err error
	)
	arrived := make(chan struct{}, 4)
	e.Sim.SetHook(func(r *http.Request) {
		if r.Method == http.MethodPut {
			arrived <- struct{}{}
		}
	})
	wg.Go(func() { res, err = e.App.Rotation.Rotate(ctx, e.Admin, apptest.Meta, "fleet", "") })
	<-arrived // the reset is in flight
	e.Clock.Advance(time.Hour)
	other := e.Second(apptest.OpenDB(t, url))
	if n, rerr := other.App.Rotation.ResolveStuck(ctx); rerr != nil || n != 0 {
		t.Fatalf("recovery took over a live rotation: %d %v", n, rerr)
	}
	wg.Wait()
	up := e.Sim.User(t, "fleet_uws")
	if err != nil || !res.Rotated() || up.ResetsApplied != 1 || up.LoginFailures != 0 || e.Stored("fleet") != up.Password {
		t.Fatalf("result %+v %v, upstream %+v", res, err, up)
	}
}

// Issue 13, path 8: a rotation whose reset answer was lost and whose one
// check with the old password was under way when its process died is not
// checked again by recovery: one lost answer costs at most one failed login.
func TestOneLostAnswerCostsOneLogin(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{})
	e.Seed("fleet", "fleet_uws", models.ProtocolREST)
	if err := e.Sim.SetFaults("fleet_uws", tsim.Faults{ResetFailAfter: true}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	resetDone := false
	var mu sync.Mutex
	e.Sim.SetHook(func(r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == http.MethodPut:
			resetDone = true
		case resetDone && strings.HasSuffix(r.URL.Path, "/session/login"):
			cancel() // killed while the one check is on the wire
		}
	})
	_, _ = e.App.Rotation.RotateAttached(ctx, e.Admin, apptest.Meta, "fleet")
	e.Sim.SetHook(nil)
	if err := e.Sim.ClearFaults("fleet_uws"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the simulator finishes the check it was sent
	before := e.Sim.User(t, "fleet_uws")
	if row := e.Row("fleet"); row.State != "unknown" {
		t.Fatalf("state after the crash %s", row.State)
	}
	e.Clock.Advance(time.Hour)
	if n, err := e.App.Rotation.ResolveStuck(context.Background()); err != nil || n != 1 {
		t.Fatalf("resolved %d: %v", n, err)
	}
	after := e.Sim.User(t, "fleet_uws")
	if after.LoginsOK+after.LoginFailures != before.LoginsOK+before.LoginFailures {
		t.Fatalf("recovery checked the old password a second time: %+v → %+v", before, after)
	}
	if row := e.Row("fleet"); row.State != "attention" {
		t.Fatalf("row %+v", row)
	}
}

// The happy path costs at most four transactions (three with a cached
// session), the two durability points among them.
func TestRotationTransactions(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{})
	e.Seed("fleet", "fleet_uws", models.ProtocolREST)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		max  int64
	}{{"no cached session", 4}, {"cached session", 3}} {
		before := e.DB.Transactions()
		if res, err := e.App.Rotation.Rotate(ctx, e.Admin, apptest.Meta, "fleet", ""); err != nil || !res.Rotated() {
			t.Fatalf("%s: %+v %v", c.name, res, err)
		}
		if n := e.DB.Transactions() - before; n > c.max {
			t.Errorf("%s: %d transactions, want at most %d", c.name, n, c.max)
		}
	}
}

// Issue 21, path 4: a login a dead process left in flight is counted when
// the rotation reserves its verification; if that count quarantines the
// credential, the quarantine is recorded with its event (and so notified),
// like every other.
func TestQuarantineInsideTheVerificationsReserveIsAudited(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{})
	e.Seed("fleet", "fleet_uws", models.ProtocolREST)
	ctx := context.Background()
	if _, err := e.App.Departments.TestLogin(ctx, e.Admin, apptest.Meta, "fleet"); err != nil {
		t.Fatal(err)
	}
	c, err := e.App.Upstream.Client(models.ProtocolREST)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(ctx, e.CredOf("fleet")); err != nil { // a cached session: the reset needs no login
		t.Fatal(err)
	}
	// One failure counted, and a dead process's login lease run out.
	if _, err := e.DB.Pool.Exec(ctx, `UPDATE upstream_accounts SET consecutive_failures = 1, failures_since_success = 1,
	    lease_id = 'dead', lease_until = now() - interval '1 minute', lease_seq = attempt_seq WHERE username = 'fleet_uws'`); err != nil {
		t.Fatal(err)
	}
	res, err := e.App.Rotation.Rotate(ctx, e.Admin, apptest.Meta, "fleet", models.TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	if e.Stored("fleet") == apptest.GoodPW {
		t.Fatalf("the new password was not stored: %+v", res)
	}
	row := e.Row("fleet")
	if row.State != string(models.StateQuarantined) && row.State != string(models.StateAttention) {
		t.Fatalf("state %s, want quarantined (the orphaned login reached the threshold)", row.State)
	}
	if row.State == string(models.StateQuarantined) && len(apptest.Only(e.Events("fleet"), models.EvQuarantined)) != 1 {
		t.Fatalf("quarantined without its event: %v", e.Events("fleet"))
	}
}
