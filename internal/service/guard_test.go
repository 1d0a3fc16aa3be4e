package service

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/models"
)

// seedWrong stores a password that ThingSpace does not accept.
func (e *env) seedWrong(slug, user string) {
	e.t.Helper()
	e.seedDept(slug, models.ProtocolREST, false)
	e.sim.sim.SetUser(user, "Upstream-Kn0ws!Better")
	if err := e.svc.SetCredential(context.Background(), e.admin, meta, slug, user, goodPW, false); err != nil {
		e.t.Fatal(err)
	}
}

func TestWrongPasswordQuarantinesAtThreshold(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpt{})
	e.seedWrong("fleet", "fleet_uws")
	ctx := context.Background()
	res, err := e.svc.TestLogin(ctx, e.admin, meta, "fleet")
	if err != nil || res.OK {
		t.Fatalf("test login: %+v %v", res, err)
	}
	rot, err := e.svc.Rotate(ctx, e.admin, meta, "fleet", models.TriggerManual)
	if err != nil || rot.Result != models.RunRejected || rot.State != models.StateQuarantined {
		t.Fatalf("rotate: %+v %v", rot, err)
	}
	up := e.sim.user(t, "fleet_uws")
	if up.LoginFailures != 2 || up.Locked {
		t.Fatalf("upstream %+v", up)
	}
	row := e.row("fleet")
	if row.State != "quarantined" || row.ConsecutiveFailures != 2 {
		t.Fatalf("row %+v", row)
	}
	// Refused without an upstream attempt.
	if _, err := e.svc.Rotate(ctx, e.admin, meta, "fleet", models.TriggerManual); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("rotate when quarantined: %v", err)
	}
	if _, err := e.svc.TestLogin(ctx, e.admin, meta, "fleet"); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("test when quarantined: %v", err)
	}
	// Even straight through the client, the guard refuses.
	c, _ := e.svc.client(models.ProtocolREST)
	if err := c.TestLogin(ctx, e.credOf("fleet")); !guardRefused(err) {
		t.Fatalf("client past quarantine: %v", err)
	}
	if up2 := e.sim.user(t, "fleet_uws"); up2.LoginFailures != 2 {
		t.Fatalf("an attempt was made after quarantine: %+v", up2)
	}
	codes := e.events("fleet")
	if !slices.Contains(codes, models.EvQuarantined) || !slices.Contains(codes, models.EvUpstreamLoginGuard) {
		t.Fatalf("events %v", codes)
	}
	if len(only(codes, models.EvUpstreamLoginFailed)) != 2 {
		t.Fatalf("failed login events %v", codes)
	}
	// The administrator clears it: idle, no failures.
	if err := e.svc.ClearQuarantine(ctx, e.admin, meta, "fleet"); err != nil {
		t.Fatal(err)
	}
	if row := e.row("fleet"); row.State != "idle" || row.ConsecutiveFailures != 0 {
		t.Fatalf("after clear %+v", row)
	}
}

func (e *env) credOf(slug string) thingspace.Credential {
	r := e.row(slug)
	pw, _ := e.svc.openCredential(&r)
	return thingspace.Credential{Key: slug, Username: r.Username, Password: pw}
}

// The portal never makes a 5th consecutive failed login, whatever is
// thrown at it: the highest threshold, two instances, concurrent tests,
// rotations, recovery and scheduler passes, over and over.
func TestNeverAFifthFailure(t *testing.T) {
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
	a := newEnv(t, envOpt{threshold: 4, db: open()})
	b := a.second(open())
	a.seedWrong("fleet", "fleet_uws")
	ctx := context.Background()
	sa, sb := a.svc.NewScheduler(SchedulerOptions{Jitter: -1}), b.svc.NewScheduler(SchedulerOptions{Jitter: -1})
	defer sa.Close()
	defer sb.Close()
	c, _ := a.svc.client(models.ProtocolREST)
	var wg sync.WaitGroup
	for i := range 40 {
		svc := a.svc
		if i%2 == 1 {
			svc = b.svc
		}
		wg.Go(func() {
			switch i % 5 {
			case 0:
				_, _ = svc.TestLogin(ctx, a.admin, meta, "fleet")
			case 1:
				_, _ = svc.Rotate(ctx, a.admin, meta, "fleet", models.TriggerManual)
			case 2:
				_, _ = svc.ResolveStuck(ctx)
			case 3:
				_ = c.TestLogin(ctx, a.credOf("fleet")) // the raw client, guard only
			case 4:
				_, _ = sa.Pass(ctx)
				_, _ = sb.Pass(ctx)
			}
		})
	}
	wg.Wait()
	up := a.sim.user(t, "fleet_uws")
	if up.MaxConsecutiveFailures > 4 || up.Locked {
		t.Fatalf("the portal risked the account: %+v", up)
	}
	if row := a.row("fleet"); row.State != "quarantined" || row.ConsecutiveFailures != up.ConsecutiveFailures {
		t.Fatalf("row %+v, upstream %+v", row, up)
	}
}

// A login whose process died holds a lease that expires; the attempt is
// then counted as failed (it may have counted upstream).
func TestOrphanedLoginCountsAsFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpt{})
	e.seed("fleet", "fleet_uws", models.ProtocolREST)
	ctx := context.Background()
	if err := e.db.Gorm.Exec("UPDATE credentials SET login_lease_until = now() - interval '1 second', consecutive_failures = 1").Error; err != nil {
		t.Fatal(err)
	}
	c, _ := e.svc.client(models.ProtocolREST)
	if err := c.TestLogin(ctx, e.credOf("fleet")); !guardRefused(err) {
		t.Fatalf("got %v, want a refusal", err)
	}
	if row := e.row("fleet"); row.State != "quarantined" || row.ConsecutiveFailures != 2 {
		t.Fatalf("row %+v", row)
	}
	if up := e.sim.user(t, "fleet_uws"); up.LoginsOK+up.LoginFailures != 0 {
		t.Fatalf("an attempt was made: %+v", up)
	}
}

// An admin who clears the quarantine again and again without fixing the
// password must not walk the account into ThingSpace's lock: failures since
// the last success survive a clear, and the portal stops at 4.
func TestClearingQuarantineNeverLeadsToAFifthFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpt{})
	e.seedWrong("fleet", "fleet_uws")
	ctx := context.Background()
	for round := range 5 {
		for range 3 {
			_, _ = e.svc.TestLogin(ctx, e.admin, meta, "fleet")
		}
		err := e.svc.ClearQuarantine(ctx, e.admin, meta, "fleet")
		up := e.sim.user(t, "fleet_uws")
		if up.MaxConsecutiveFailures > 4 || up.Locked {
			t.Fatalf("round %d: upstream reached %d consecutive failures (locked %v)", round, up.MaxConsecutiveFailures, up.Locked)
		}
		if up.ConsecutiveFailures >= 4 && !errors.Is(err, models.ErrConflict) {
			t.Fatalf("round %d: a clear was allowed with %d failures since the last success", round, up.ConsecutiveFailures)
		}
	}
	if up := e.sim.user(t, "fleet_uws"); up.MaxConsecutiveFailures != 4 {
		t.Fatalf("expected the portal to stop at exactly 4, got %d", up.MaxConsecutiveFailures)
	}
	// A verification login would be the fifth: refused, nothing saved.
	e.sim.sim.SetUser("fleet_uws", goodPW) // the admin sets a password in ThingSpace Manage
	if err := e.svc.SetCredential(ctx, e.admin, meta, "fleet", "fleet_uws", goodPW, true); !errors.Is(err, models.ErrConflict) && !errors.Is(err, models.ErrInvalid) {
		t.Fatalf("verification as a fifth attempt: %v", err)
	}
	// Replacing it without a probe is the admin's word that the password
	// was reset in ThingSpace Manage: the portal starts counting afresh.
	if err := e.svc.SetCredential(ctx, e.admin, meta, "fleet", "fleet_uws", goodPW, false); err != nil {
		t.Fatal(err)
	}
	if res, err := e.svc.TestLogin(ctx, e.admin, meta, "fleet"); err != nil || !res.OK {
		t.Fatalf("after replace: %+v %v", res, err)
	}
}
