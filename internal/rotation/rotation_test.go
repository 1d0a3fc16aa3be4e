package rotation_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/internal/tsim"
	"github.com/uwsportal/uwsportal/models"
)

func TestRotateHappyPath(t *testing.T) {
	t.Parallel()
	for _, proto := range []models.Protocol{models.ProtocolREST, models.ProtocolSOAP} {
		t.Run(string(proto), func(t *testing.T) {
			t.Parallel()
			e := apptest.New(t, apptest.Options{})
			e.Seed("fleet", "fleet_uws", proto)
			res, err := e.App.Rotation.Rotate(context.Background(), e.Admin, apptest.Meta, "fleet", models.TriggerManual)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Rotated() || res.State != models.StateIdle || res.Version != 2 {
				t.Fatalf("result %+v", res)
			}
			up := e.Sim.User(t, "fleet_uws")
			if up.ResetsApplied != 1 || up.Password == apptest.GoodPW {
				t.Fatalf("upstream %+v", up)
			}
			if got := e.Stored("fleet"); got != up.Password {
				t.Fatal("the stored password is not ThingSpace's")
			}
			row := e.Row("fleet")
			if row.Version != 2 || row.State != "idle" || row.LastRotatedAt == nil || row.ConsecutiveFailures != 0 {
				t.Fatalf("row %+v", row)
			}
			codes := e.Events("fleet")
			if got := apptest.Only(codes, "credential.rotate."); !slices.Equal(got, []string{models.EvRotateStarted, models.EvRotateApplied, models.EvRotateVerified}) {
				t.Fatalf("rotation events %v", got)
			}
			// The reset's login, then the verification's.
			if got := apptest.Only(codes, "upstream.login."); !slices.Equal(got, []string{models.EvUpstreamLoginOK, models.EvUpstreamLoginOK}) {
				t.Fatalf("login events %v", got)
			}
			v, err := e.App.Departments.DepartmentView(context.Background(), e.Admin, "fleet")
			if err != nil || len(v.Runs) != 1 || v.Runs[0].Result != models.RunRotated || v.Credential.Version != 2 {
				t.Fatalf("view %+v %v", v, err)
			}
			e.NoLeak(apptest.GoodPW, up.Password)
		})
	}
}

func TestConcurrentRotationsMakeOneReset(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	open := func() *store.DB {
		db, err := store.Open(context.Background(), url, store.Options{MaxConns: 10})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		return db
	}
	a := apptest.New(t, apptest.Options{DB: open()})
	b := a.Second(open()) // a second portal process on the same database
	a.Seed("fleet", "fleet_uws", models.ProtocolREST)
	// Slow upstream, so that the rotations overlap.
	if err := a.Sim.SetFaults("fleet_uws", tsim.Faults{Latency: 50 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var rotated, conflicts int
	for i := range 6 {
		svc := a.App
		if i%2 == 1 {
			svc = b.App
		}
		wg.Go(func() {
			res, err := svc.Rotation.Rotate(context.Background(), a.Admin, apptest.Meta, "fleet", models.TriggerManual)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && res.Rotated():
				rotated++
			case errors.Is(err, models.ErrConflict):
				conflicts++
			default:
				t.Errorf("rotate: %+v %v", res, err)
			}
		})
	}
	wg.Wait()
	up := a.Sim.User(t, "fleet_uws")
	if rotated != 1 || conflicts != 5 || up.ResetsApplied != 1 {
		t.Fatalf("rotated %d, conflicts %d, upstream resets %d", rotated, conflicts, up.ResetsApplied)
	}
	if a.Stored("fleet") != up.Password {
		t.Fatal("stored password differs from upstream")
	}
}

// A process killed while its reset is in flight: the reset is applied
// upstream, the answer never processed. Recovery spends at most one failed
// login and hands the credential to an administrator.
func TestKilledDuringResetIsResolved(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{})
	e.Seed("fleet", "fleet_uws", models.ProtocolREST)
	if err := e.Sim.SetFaults("fleet_uws", tsim.Faults{Latency: 300 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	// "kill -9": the rotation's context dies while the reset is in flight;
	// nothing after that point reaches the database.
	ctx, cancel := context.WithCancel(context.Background())
	e.Sim.SetHook(func(r *http.Request) {
		if r.Method == http.MethodPut {
			time.AfterFunc(100*time.Millisecond, cancel)
		}
	})
	// The rotation itself reports the lost answer; its record stays for
	// recovery.
	if res, err := e.App.Rotation.RotateAttached(ctx, e.Admin, apptest.Meta, "fleet"); err != nil || res.Result != models.RunUnknown {
		t.Fatalf("the killed rotation: %+v %v, want its answer lost", res, err)
	}
	e.Sim.SetHook(nil)
	if err := e.Sim.ClearFaults("fleet_uws"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond) // the simulator finishes the request: the reset is applied
	up := e.Sim.User(t, "fleet_uws")
	if up.ResetsApplied != 1 {
		t.Fatalf("the reset was not applied upstream: %+v", up)
	}
	if st := e.Row("fleet").State; st != "resetting" && st != "unknown" {
		t.Fatalf("state after the crash %s", st)
	}
	before := up.LoginFailures

	// Not stuck yet: nothing to do.
	if n, err := e.App.Rotation.ResolveStuck(context.Background()); err != nil || n != 0 {
		t.Fatalf("resolved %d too early: %v", n, err)
	}
	e.Clock.Advance(time.Hour)
	n, err := e.App.Rotation.ResolveStuck(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("resolved %d: %v", n, err)
	}
	up = e.Sim.User(t, "fleet_uws")
	if up.LoginFailures-before > 1 || up.Locked || up.MaxConsecutiveFailures > 1 {
		t.Fatalf("recovery spent too many logins: %+v", up)
	}
	row := e.Row("fleet")
	if row.State != "attention" || row.Version != 1 {
		t.Fatalf("row %+v", row)
	}
	if got := apptest.Only(e.Events("fleet"), "credential.rotate."); got[len(got)-1] != models.EvRotateResolved {
		t.Fatalf("events %v", got)
	}
	// Again: nothing left, no further login.
	if n, err := e.App.Rotation.ResolveStuck(context.Background()); err != nil || n != 0 {
		t.Fatalf("resolved %d again: %v", n, err)
	}
	// The administrator sets a password in ThingSpace Manage and enters it.
	e.Sim.SetUser("fleet_uws", "Gl4cier#Orbit-Maple7")
	if err := e.SetCredential("fleet", "fleet_uws", "Gl4cier#Orbit-Maple7", true); err != nil {
		t.Fatal(err)
	}
	if row := e.Row("fleet"); row.State != "idle" || row.ConsecutiveFailures != 0 || row.Version != 2 {
		t.Fatalf("after replace %+v", row)
	}
}

// A process that stored the new password and died before verifying it:
// recovery verifies the stored password, and nothing is lost.
func TestKilledBeforeVerifyKeepsThePassword(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{})
	e.Seed("fleet", "fleet_uws", models.ProtocolREST)
	if err := e.App.Rotation.RotateUntilStored(context.Background(), e.Admin, apptest.Meta, "fleet"); err != nil {
		t.Fatal(err)
	}
	// killed here
	e.Clock.Advance(time.Hour)
	if n, err := e.App.Rotation.ResolveStuck(context.Background()); err != nil || n != 1 {
		t.Fatalf("resolved %d: %v", n, err)
	}
	row := e.Row("fleet")
	up := e.Sim.User(t, "fleet_uws")
	if row.State != "idle" || row.Version != 2 || e.Stored("fleet") != up.Password || up.LoginFailures != 0 {
		t.Fatalf("row %+v upstream %+v", row, up)
	}
}

func TestUpstreamFailureAfterResetNeedsAttention(t *testing.T) {
	t.Parallel()
	for name, f := range map[string]tsim.Faults{
		"5xx after":        {ResetFailAfter: true},
		"connection drops": {ResetDropAfter: true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := apptest.New(t, apptest.Options{})
			e.Seed("fleet", "fleet_uws", models.ProtocolREST)
			if err := e.Sim.SetFaults("fleet_uws", f); err != nil {
				t.Fatal(err)
			}
			res, err := e.App.Rotation.Rotate(context.Background(), e.Admin, apptest.Meta, "fleet", models.TriggerManual)
			if err != nil {
				t.Fatal(err)
			}
			up := e.Sim.User(t, "fleet_uws")
			if res.Result != models.RunAttention || res.State != models.StateAttention {
				t.Fatalf("result %+v", res)
			}
			if up.MaxConsecutiveFailures > 1 || up.Locked || up.ResetsApplied != 1 {
				t.Fatalf("upstream %+v", up)
			}
			if want := models.AttentionAdvice("fleet_uws"); !strings.Contains(res.Message, want) {
				t.Fatalf("message %q lacks the advice", res.Message)
			}
			got := apptest.Only(e.Events("fleet"), "credential.rotate.")
			if !slices.Equal(got, []string{models.EvRotateStarted, models.EvRotateUnknown, models.EvRotateResolved}) {
				t.Fatalf("events %v", got)
			}
			// Attention: no more automatic rotation.
			if _, err := e.App.Rotation.Rotate(context.Background(), e.Admin, apptest.Meta, "fleet", models.TriggerManual); !errors.Is(err, models.ErrConflict) {
				t.Fatalf("rotate in attention: %v", err)
			}
		})
	}
}

// A 5xx before anything changed: the old password still works.
func TestUpstreamFailureBeforeResetChangesNothing(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{})
	e.Seed("fleet", "fleet_uws", models.ProtocolREST)
	if err := e.Sim.SetFaults("fleet_uws", tsim.Faults{ResetFailBefore: true}); err != nil {
		t.Fatal(err)
	}
	res, err := e.App.Rotation.Rotate(context.Background(), e.Admin, apptest.Meta, "fleet", models.TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rotated() || res.State != models.StateIdle || e.Stored("fleet") != apptest.GoodPW {
		t.Fatalf("result %+v", res)
	}
	if up := e.Sim.User(t, "fleet_uws"); up.LoginFailures != 0 || up.Password != apptest.GoodPW {
		t.Fatalf("upstream %+v", up)
	}
}

// The database goes away while ThingSpace is issuing the new password: the
// portal holds it in memory and stores it when the database is back.
func TestDatabaseDownWhenPasswordArrives(t *testing.T) {
	t.Parallel()
	proxy, dsn := testdb.NewProxy(t, testdb.URL(t))
	db, err := store.Open(context.Background(), dsn, store.Options{MaxConns: 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	e := apptest.New(t, apptest.Options{DB: db})
	e.Seed("fleet", "fleet_uws", models.ProtocolREST)
	if err := e.Sim.SetFaults("fleet_uws", tsim.Faults{Latency: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	e.Sim.SetHook(func(r *http.Request) {
		if r.Method == http.MethodPut { // the reset: the database dies during its latency
			proxy.Down()
			time.AfterFunc(time.Second, proxy.Up)
		}
	})
	res, err := e.App.Rotation.Rotate(context.Background(), e.Admin, apptest.Meta, "fleet", models.TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	e.Sim.SetHook(nil)
	up := e.Sim.User(t, "fleet_uws")
	if !res.Rotated() || up.ResetsApplied != 1 || e.Stored("fleet") != up.Password {
		t.Fatalf("result %+v, upstream resets %d", res, up.ResetsApplied)
	}
	if !strings.Contains(e.Logs.String(), "keeping it in memory") {
		t.Fatal("the retry was not logged")
	}
	e.NoLeak(apptest.GoodPW, up.Password)
}

// Once shutdown waits for the rotations in flight, none starts: it is
// refused as unavailable before anything is read or sent upstream.
func TestNoRotationStartsOnceShutdownWaits(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{})
	e.Seed("fleet", "fleet_uws", models.ProtocolREST)
	if err := e.App.Rotation.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err := e.App.Rotation.Rotate(context.Background(), e.Admin, apptest.Meta, "fleet", models.TriggerManual)
	if !errors.Is(err, models.ErrUnavailable) {
		t.Fatalf("rotation during shutdown: %v", err)
	}
	if _, err := e.App.Rotation.StartNow(context.Background(), e.Admin, apptest.Meta, "fleet", 0); !errors.Is(err, models.ErrUnavailable) {
		t.Fatalf("rotate now during shutdown: %v", err)
	}
	if up := e.Sim.User(t, "fleet_uws"); up.ResetsApplied != 0 || e.Row("fleet").Version != 1 {
		t.Fatalf("a refused rotation reached ThingSpace or the row: %+v", up)
	}
	if got := apptest.Only(e.Events("fleet"), "credential.rotate."); len(got) != 0 {
		t.Fatalf("a refused rotation was recorded: %v", got)
	}
}
