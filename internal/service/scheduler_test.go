package service

import (
	"context"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/internal/tsim"
	"github.com/uwsportal/uwsportal/models"
)

// age makes slug's password older than its maximum age.
func (e *env) age(slug string, d time.Duration) {
	e.t.Helper()
	if err := e.db.Gorm.Exec("UPDATE credentials SET password_changed_at = ? WHERE department_id = (SELECT id FROM departments WHERE slug = ?)",
		e.clock.Now().Add(-d), slug).Error; err != nil {
		e.t.Fatal(err)
	}
}

func TestSchedulerLeaderRotatesDueOnly(t *testing.T) {
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
	a := newEnv(t, envOpt{db: open()})
	b := a.second(open())
	ctx := context.Background()
	a.seed("due", "due_uws", models.ProtocolREST)
	a.seed("fresh", "fresh_uws", models.ProtocolREST)
	a.seed("off", "off_uws", models.ProtocolREST)
	a.seedWrong("bad", "bad_uws")
	a.age("due", 91*24*time.Hour)
	a.age("off", 91*24*time.Hour)
	a.age("bad", 91*24*time.Hour)
	if err := a.svc.SetSchedule(ctx, a.admin, meta, "off", false, 0); err != nil {
		t.Fatal(err)
	}
	// Quarantine "bad" first: two failed tests.
	_, _ = a.svc.TestLogin(ctx, a.admin, meta, "bad")
	_, _ = a.svc.TestLogin(ctx, a.admin, meta, "bad")
	if a.row("bad").State != "quarantined" {
		t.Fatal("bad is not quarantined")
	}
	sa, sb := a.svc.NewScheduler(SchedulerOptions{Jitter: -1}), b.svc.NewScheduler(SchedulerOptions{Jitter: -1})
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
	if up := a.sim.user(t, "due_uws"); up.ResetsApplied != 1 {
		t.Fatalf("due: %+v", up)
	}
	for _, u := range []string{"fresh_uws", "off_uws", "bad_uws"} {
		if up := a.sim.user(t, u); up.ResetsApplied != 0 {
			t.Fatalf("%s rotated: %+v", u, up)
		}
	}
	if up := a.sim.user(t, "bad_uws"); up.LoginFailures != 2 {
		t.Fatalf("the scheduler touched a quarantined credential: %+v", up)
	}
	var actor string
	if err := a.db.Gorm.Raw("SELECT actor FROM rotation_runs ORDER BY id DESC LIMIT 1").Scan(&actor).Error; err != nil || actor != models.ActorSystem {
		t.Fatalf("run actor %q %v", actor, err)
	}
	// Nothing due any more.
	if ra, _ = sa.Pass(ctx); ra.Due != 0 {
		t.Fatalf("second pass %+v", ra)
	}
	// The leader goes away; the other takes over.
	sa.Close()
	deadline := time.Now().Add(5 * time.Second)
	for rb, _ = sb.Pass(ctx); !rb.Leader; rb, _ = sb.Pass(ctx) {
		if time.Now().After(deadline) {
			t.Fatal("no takeover")
		}
		time.Sleep(20 * time.Millisecond) // the server ends the old session
	}
}

func TestSchedulerBacksOffAfterFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpt{})
	ctx := context.Background()
	e.seed("due", "due_uws", models.ProtocolREST)
	e.age("due", 91*24*time.Hour)
	if err := e.sim.sim.SetFaults("due_uws", tsim.Faults{ResetFailBefore: true}); err != nil {
		t.Fatal(err)
	}
	sc := e.svc.NewScheduler(SchedulerOptions{Jitter: -1, BackoffBase: time.Hour})
	defer sc.Close()
	r, err := sc.Pass(ctx)
	if err != nil || r.Failed != 1 {
		t.Fatalf("pass %+v %v", r, err)
	}
	row := e.row("due")
	if row.ScheduleFailures != 1 || row.NextAttemptAt == nil || row.NextAttemptAt.Before(e.clock.Now().Add(40*time.Minute)) {
		t.Fatalf("row %+v", row)
	}
	if r, _ = sc.Pass(ctx); r.Due != 0 {
		t.Fatalf("retried during back-off: %+v", r)
	}
	_ = e.sim.sim.ClearFaults("due_uws")
	e.clock.Advance(2 * time.Hour)
	if r, _ = sc.Pass(ctx); r.Rotated != 1 {
		t.Fatalf("after back-off: %+v", r)
	}
	if row := e.row("due"); row.ScheduleFailures != 0 || row.NextAttemptAt != nil {
		t.Fatalf("back-off not reset: %+v", row)
	}
	if sc.backoff(3) < 3*time.Hour || sc.backoff(30) > 29*time.Hour {
		t.Fatalf("backoff(3) %v backoff(30) %v", sc.backoff(3), sc.backoff(30))
	}
}

// Run keeps passing until its context ends, and leadership ends with it.
func TestSchedulerRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpt{})
	e.seed("due", "due_uws", models.ProtocolREST)
	e.age("due", 91*24*time.Hour)
	sc := e.svc.NewScheduler(SchedulerOptions{Jitter: -1, Interval: 20 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- sc.Run(ctx) }()
	for e.sim.user(t, "due_uws").ResetsApplied == 0 && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil || sc.Leader() {
		t.Fatalf("run: %v, leader %v", err, sc.Leader())
	}
	if e.sim.user(t, "due_uws").ResetsApplied != 1 {
		t.Fatal("not rotated once")
	}
}
