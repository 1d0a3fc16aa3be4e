package rotation_test

import (
	"context"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/rotation"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/internal/tsim"
	"github.com/uwsportal/uwsportal/models"
)

func TestSchedulerLeaderRotatesDueOnly(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	a := apptest.New(t, apptest.Options{DB: apptest.OpenDB(t, url)})
	b := a.Second(apptest.OpenDB(t, url))
	ctx := context.Background()
	a.Seed("due", "due_uws", models.ProtocolREST)
	a.Seed("fresh", "fresh_uws", models.ProtocolREST)
	a.Seed("off", "off_uws", models.ProtocolREST)
	a.SeedWrong("bad", "bad_uws")
	a.Age("due", 91*24*time.Hour)
	a.Age("off", 91*24*time.Hour)
	a.Age("bad", 91*24*time.Hour)
	if err := a.App.Departments.SetSchedule(ctx, a.Admin, apptest.Meta, "off", false, 0); err != nil {
		t.Fatal(err)
	}
	// Quarantine "bad" first: two failed tests.
	for range 2 {
		if res, err := a.App.Departments.TestLogin(ctx, a.Admin, apptest.Meta, "bad"); err != nil || res.OK {
			t.Fatalf("test login of bad: %+v %v", res, err)
		}
	}
	if a.Row("bad").State != "quarantined" {
		t.Fatal("bad is not quarantined")
	}
	sa, sb := a.App.Rotation.NewScheduler(rotation.SchedulerOptions{Jitter: -1}), b.App.Rotation.NewScheduler(rotation.SchedulerOptions{Jitter: -1})
	defer sa.Close()
	defer sb.Close()
	ra, err := sa.Pass(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := sb.Pass(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !ra.Leader || rb.Leader || ra.Due != 1 || ra.Rotated != 1 {
		t.Fatalf("passes: a %+v, b %+v", ra, rb)
	}
	if up := a.Sim.User(t, "due_uws"); up.ResetsApplied != 1 {
		t.Fatalf("due: %+v", up)
	}
	for _, u := range []string{"fresh_uws", "off_uws", "bad_uws"} {
		if up := a.Sim.User(t, u); up.ResetsApplied != 0 {
			t.Fatalf("%s rotated: %+v", u, up)
		}
	}
	if up := a.Sim.User(t, "bad_uws"); up.LoginFailures != 2 {
		t.Fatalf("the scheduler touched a quarantined credential: %+v", up)
	}
	var actor string
	if err := a.DB.Pool.QueryRow(ctx, "SELECT actor FROM rotation_runs ORDER BY id DESC LIMIT 1").Scan(&actor); err != nil || actor != models.ActorSystem {
		t.Fatalf("run actor %q %v", actor, err)
	}
	// Nothing due any more.
	if ra, err = sa.Pass(ctx); err != nil || ra.Due != 0 {
		t.Fatalf("second pass %+v %v", ra, err)
	}
	// The leader goes away; the other takes over.
	sa.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if rb, err = sb.Pass(ctx); err != nil {
			t.Fatal(err)
		}
		if rb.Leader {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no takeover")
		}
		time.Sleep(20 * time.Millisecond) // the server ends the old session
	}
}

func TestSchedulerBacksOffAfterFailure(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{})
	ctx := context.Background()
	e.Seed("due", "due_uws", models.ProtocolREST)
	e.Age("due", 91*24*time.Hour)
	if err := e.Sim.SetFaults("due_uws", tsim.Faults{ResetFailBefore: true}); err != nil {
		t.Fatal(err)
	}
	sc := e.App.Rotation.NewScheduler(rotation.SchedulerOptions{Jitter: -1, BackoffBase: time.Hour})
	defer sc.Close()
	r, err := sc.Pass(ctx)
	if err != nil || r.Failed != 1 {
		t.Fatalf("pass %+v %v", r, err)
	}
	row := e.Row("due")
	if row.ScheduleFailures != 1 || row.NextAttemptAt == nil || row.NextAttemptAt.Before(e.Clock.Now().Add(40*time.Minute)) {
		t.Fatalf("row %+v", row)
	}
	if r, err = sc.Pass(ctx); err != nil || r.Due != 0 {
		t.Fatalf("retried during back-off: %+v %v", r, err)
	}
	if err := e.Sim.ClearFaults("due_uws"); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(2 * time.Hour)
	if r, err = sc.Pass(ctx); err != nil || r.Rotated != 1 {
		t.Fatalf("after back-off: %+v %v", r, err)
	}
	if row := e.Row("due"); row.ScheduleFailures != 0 || row.NextAttemptAt != nil {
		t.Fatalf("back-off not reset: %+v", row)
	}
	if sc.Backoff(3) < 3*time.Hour || sc.Backoff(30) > 29*time.Hour {
		t.Fatalf("backoff(3) %v backoff(30) %v", sc.Backoff(3), sc.Backoff(30))
	}
}

// Run keeps passing until its context ends, and leadership ends with it.
func TestSchedulerRun(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{})
	e.Seed("due", "due_uws", models.ProtocolREST)
	e.Age("due", 91*24*time.Hour)
	sc := e.App.Rotation.NewScheduler(rotation.SchedulerOptions{Jitter: -1, Interval: 20 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- sc.Run(ctx) }()
	for e.Sim.User(t, "due_uws").ResetsApplied == 0 && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil || sc.Leader() {
		t.Fatalf("run: %v, leader %v", err, sc.Leader())
	}
	if e.Sim.User(t, "due_uws").ResetsApplied != 1 {
		t.Fatal("not rotated once")
	}
}
