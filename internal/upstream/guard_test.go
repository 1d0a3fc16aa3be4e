package upstream_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/departments"
	"github.com/uwsportal/uwsportal/internal/rotation"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/internal/upstream"
	"github.com/uwsportal/uwsportal/models"
)

func TestWrongPasswordQuarantinesAtThreshold(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{})
	e.SeedWrong("fleet", "fleet_uws")
	ctx := context.Background()
	res, err := e.App.Departments.TestLogin(ctx, e.Admin, apptest.Meta, "fleet")
	if err != nil || res.OK {
		t.Fatalf("test login: %+v %v", res, err)
	}
	rot, err := e.App.Rotation.Rotate(ctx, e.Admin, apptest.Meta, "fleet", models.TriggerManual)
	if err != nil || rot.Result != models.RunRejected || rot.State != models.StateQuarantined {
		t.Fatalf("rotate: %+v %v", rot, err)
	}
	up := e.Sim.User(t, "fleet_uws")
	if up.LoginFailures != 2 || up.Locked {
		t.Fatalf("upstream %+v", up)
	}
	row := e.Row("fleet")
	if row.State != "quarantined" || row.ConsecutiveFailures != 2 {
		t.Fatalf("row %+v", row)
	}
	// Refused without an upstream attempt.
	if _, err := e.App.Rotation.Rotate(ctx, e.Admin, apptest.Meta, "fleet", models.TriggerManual); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("rotate when quarantined: %v", err)
	}
	if _, err := e.App.Departments.TestLogin(ctx, e.Admin, apptest.Meta, "fleet"); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("test when quarantined: %v", err)
	}
	// Even straight through the client, the guard refuses.
	c, err := e.App.Upstream.Client(models.ProtocolREST)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(ctx, e.CredOf("fleet")); !upstream.Refused(err) {
		t.Fatalf("client past quarantine: %v", err)
	}
	if up2 := e.Sim.User(t, "fleet_uws"); up2.LoginFailures != 2 {
		t.Fatalf("an attempt was made after quarantine: %+v", up2)
	}
	codes := e.Events("fleet")
	if !slices.Contains(codes, models.EvQuarantined) || !slices.Contains(codes, models.EvUpstreamLoginGuard) {
		t.Fatalf("events %v", codes)
	}
	if len(apptest.Only(codes, models.EvUpstreamLoginFailed)) != 2 {
		t.Fatalf("failed login events %v", codes)
	}
	// The administrator clears it: idle, no failures.
	if err := e.App.Departments.ClearQuarantine(ctx, e.Admin, apptest.Meta, "fleet"); err != nil {
		t.Fatal(err)
	}
	if row := e.Row("fleet"); row.State != "idle" || row.ConsecutiveFailures != 0 {
		t.Fatalf("after clear %+v", row)
	}
}

// The portal never makes a 5th consecutive failed login, whatever is
// thrown at it: the highest threshold, two instances, concurrent tests,
// rotations, recovery and scheduler passes, over and over.
func TestNeverAFifthFailure(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	a := apptest.New(t, apptest.Options{Threshold: 4, DB: apptest.OpenDB(t, url)})
	b := a.Second(apptest.OpenDB(t, url))
	a.SeedWrong("fleet", "fleet_uws")
	ctx := context.Background()
	sa, sb := a.App.Rotation.NewScheduler(rotation.SchedulerOptions{Jitter: -1}), b.App.Rotation.NewScheduler(rotation.SchedulerOptions{Jitter: -1})
	defer sa.Close()
	defer sb.Close()
	c, err := a.App.Upstream.Client(models.ProtocolREST)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 40 {
		svc := a.App
		if i%2 == 1 {
			svc = b.App
		}
		wg.Go(func() {
			// The password is wrong: every login fails upstream or is
			// refused by the guard, and a step that does not get as far as
			// a login is refused as a conflict (quarantined, in progress).
			refused := func(err error) bool { return upstream.Refused(err) || errors.Is(err, models.ErrConflict) }
			switch i % 5 {
			case 0:
				if res, err := svc.Departments.TestLogin(ctx, a.Admin, apptest.Meta, "fleet"); res.OK || (err != nil && !refused(err)) {
					t.Errorf("test login: %+v %v", res, err)
				}
			case 1:
				if res, err := svc.Rotation.Rotate(ctx, a.Admin, apptest.Meta, "fleet", models.TriggerManual); res.Rotated() || (err != nil && !refused(err)) {
					t.Errorf("rotation: %+v %v", res, err)
				}
			case 2:
				if _, err := svc.Rotation.ResolveStuck(ctx); err != nil {
					t.Errorf("recovery: %v", err)
				}
			case 3:
				if err := c.Login(ctx, a.CredOf("fleet")); thingspace.ClassOf(err) != thingspace.ClassInvalidCredentials && !refused(err) { // the client, through the door
					t.Errorf("client login: %v", err)
				}
			case 4:
				for _, sc := range []*rotation.Scheduler{sa, sb} {
					if _, err := sc.Pass(ctx); err != nil {
						t.Errorf("scheduler pass: %v", err)
					}
				}
			}
		})
	}
	wg.Wait()
	up := a.Sim.User(t, "fleet_uws")
	if up.MaxConsecutiveFailures > 4 || up.Locked {
		t.Fatalf("the portal risked the account: %+v", up)
	}
	if row := a.Row("fleet"); row.State != "quarantined" || row.ConsecutiveFailures != up.ConsecutiveFailures {
		t.Fatalf("row %+v, upstream %+v", row, up)
	}
}

// A login whose process died holds a lease that expires; the attempt is
// then counted as failed (it may have counted upstream).
func TestOrphanedLoginCountsAsFailure(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{})
	e.Seed("fleet", "fleet_uws", models.ProtocolREST)
	ctx := context.Background()
	if _, err := e.DB.Pool.Exec(ctx, "UPDATE upstream_accounts SET lease_id = 'dead', lease_until = now() - interval '1 second', consecutive_failures = 1"); err != nil {
		t.Fatal(err)
	}
	c, err := e.App.Upstream.Client(models.ProtocolREST)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(ctx, e.CredOf("fleet")); !upstream.Refused(err) {
		t.Fatalf("got %v, want a refusal", err)
	}
	if row := e.Row("fleet"); row.State != "quarantined" || row.ConsecutiveFailures != 2 {
		t.Fatalf("row %+v", row)
	}
	if up := e.Sim.User(t, "fleet_uws"); up.LoginsOK+up.LoginFailures != 0 {
		t.Fatalf("an attempt was made: %+v", up)
	}
}

// An admin who clears the quarantine again and again without fixing the
// password must not walk the account into ThingSpace's lock: failures since
// the last success survive a clear, and the portal stops at 4.
func TestClearingQuarantineNeverLeadsToAFifthFailure(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{})
	e.SeedWrong("fleet", "fleet_uws")
	ctx := context.Background()
	for round := range 5 {
		for range 3 { // each fails upstream, or is refused once quarantined or at 4
			if res, err := e.App.Departments.TestLogin(ctx, e.Admin, apptest.Meta, "fleet"); res.OK || (err != nil && !errors.Is(err, models.ErrConflict)) {
				t.Fatalf("round %d: test login %+v %v", round, res, err)
			}
		}
		err := e.App.Departments.ClearQuarantine(ctx, e.Admin, apptest.Meta, "fleet")
		up := e.Sim.User(t, "fleet_uws")
		if up.MaxConsecutiveFailures > 4 || up.Locked {
			t.Fatalf("round %d: upstream reached %d consecutive failures (locked %v)", round, up.MaxConsecutiveFailures, up.Locked)
		}
		if up.ConsecutiveFailures >= 4 && !errors.Is(err, models.ErrConflict) {
			t.Fatalf("round %d: a clear was allowed with %d failures since the last success", round, up.ConsecutiveFailures)
		}
	}
	if up := e.Sim.User(t, "fleet_uws"); up.MaxConsecutiveFailures != 4 {
		t.Fatalf("expected the portal to stop at exactly 4, got %d", up.MaxConsecutiveFailures)
	}
	// A verification login would be the fifth: refused, nothing saved.
	e.Sim.SetUser("fleet_uws", apptest.GoodPW) // the admin sets a password in ThingSpace Manage
	if err := e.App.Departments.SetCredential(ctx, e.Admin, apptest.Meta, departments.CredentialInput{Department: "fleet", Username: "fleet_uws", Password: apptest.GoodPW, Verify: true}); !errors.Is(err, models.ErrConflict) && !errors.Is(err, models.ErrInvalid) {
		t.Fatalf("verification as a fifth attempt: %v", err)
	}
	// Replacing it without a probe keeps ThingSpace's count: a test login
	// would still be the fifth, so it is refused.
	if err := e.App.Departments.SetCredential(ctx, e.Admin, apptest.Meta, departments.CredentialInput{Department: "fleet", Username: "fleet_uws", Password: apptest.GoodPW, Verify: false}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.App.Departments.TestLogin(ctx, e.Admin, apptest.Meta, "fleet"); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("a test login as the fifth attempt after a plain replace: %v", err)
	}
	// The statement that Verizon reset the count needs a verification:
	// without one it is refused and changes nothing.
	if err := e.App.Departments.SetCredential(ctx, e.Admin, apptest.Meta, departments.CredentialInput{Department: "fleet", Username: "fleet_uws",
		Password: apptest.GoodPW, CountReset: true}); !errors.Is(err, models.ErrInvalid) {
		t.Fatalf("a count reset without verification: %v", err)
	}
	if slices.Contains(e.Events("fleet"), models.EvFailuresReset) {
		t.Fatal("a refused count reset was audited as done")
	}
	// The administrator states that Verizon reset the count (unlocked the
	// account, or the password was set in ThingSpace Manage) and verifies:
	// audited, and the portal counts afresh.
	if err := e.App.Departments.SetCredential(ctx, e.Admin, apptest.Meta, departments.CredentialInput{Department: "fleet", Username: "fleet_uws",
		Password: apptest.GoodPW, CountReset: true, Verify: true}); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(e.Events("fleet"), models.EvFailuresReset) {
		t.Fatal("the count reset was not audited")
	}
	if res, err := e.App.Departments.TestLogin(ctx, e.Admin, apptest.Meta, "fleet"); err != nil || !res.OK {
		t.Fatalf("after replace: %+v %v", res, err)
	}
}

// A login whose process died mid-attempt counts in the claim tally the
// guard judges at once: with three claimed failures and a dead attempt
// that reached ThingSpace, a claimed verification is refused instead of
// making the fifth failure.
func TestAnOrphanedLoginCountsInTheClaimTally(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{})
	e.SeedWrong("fleet", "fleet_uws")
	ctx := context.Background()
	claim := departments.CredentialInput{Department: "fleet", Username: "fleet_uws", Password: apptest.GoodPW, Verify: true, CountReset: true}
	for range 3 {
		if err := e.App.Departments.SetCredential(ctx, e.Admin, apptest.Meta, claim); !errors.Is(err, models.ErrInvalid) {
			t.Fatalf("a claimed wrong guess: %v, want ThingSpace's refusal", err)
		}
	}
	// A process reserves a login, makes it (ThingSpace counts it) and dies
	// before settling it.
	err := e.DB.WithTx(ctx, func(tx *store.Tx) error {
		if _, err := e.DB.LockAccount(ctx, tx, "fleet_uws"); err != nil {
			return err
		}
		_, err := e.DB.ReserveLogin(ctx, tx, "fleet_uws", "dead", time.Millisecond, false, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Sim.Backends(t)[models.ProtocolREST].Login(ctx, "fleet_uws", apptest.GoodPW); err == nil {
		t.Fatal("the dead process's login worked")
	}
	time.Sleep(20 * time.Millisecond)
	if err := e.App.Departments.SetCredential(ctx, e.Admin, apptest.Meta, claim); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("a claimed verification after four failures: %v, want the guard's refusal", err)
	}
	if up := e.Sim.User(t, "fleet_uws"); up.Locked || up.MaxConsecutiveFailures > 4 {
		t.Fatalf("a fifth failure: %+v", up)
	}
}

// A login waits while another process's login with the account is in
// flight (its lease held and live): two at once could make ThingSpace's
// fifth failure between them. Nothing reaches ThingSpace until the lease
// is settled or expires.
func TestALoginWaitsForTheOneInFlight(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{})
	e.Seed("fleet", "fleet_uws", models.ProtocolREST)
	ctx := context.Background()
	if _, err := e.DB.Pool.Exec(ctx, "UPDATE upstream_accounts SET lease_id = 'other', lease_until = now() + interval '1 minute'"); err != nil {
		t.Fatal(err)
	}
	c, err := e.App.Upstream.Client(models.ProtocolREST)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := c.Login(wctx, e.CredOf("fleet")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a login beside one in flight: %v, want it to wait until its caller gave up", err)
	}
	if up := e.Sim.User(t, "fleet_uws"); up.LoginsOK+up.LoginFailures != 0 {
		t.Fatalf("a login was made beside the one in flight: %+v", up)
	}
}
