package faults

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/departments"
	"github.com/uwsportal/uwsportal/internal/devices"
	"github.com/uwsportal/uwsportal/models"
)

// A login whose caller goes away while ThingSpace handles it (a closed
// browser tab cancels the request's context) is settled and audited like
// any other: ThingSpace saw it, so the trail records it, and its lease is
// released at once instead of blocking every login with the username
// until the lease expires (5×HTTPTimeout, 150 s by default), after which
// the guard counts it as an orphaned failure with no event.
//
// Found by TestFaultSchedule (seed 872506622, step 0: cancel enter+verify
// on the 3rd login). Today Lease.Settle runs in a transaction on the
// caller's context (upstream.LoginWith, clientLease.Settle), which is
// already cancelled, so the settle fails with "context canceled".
func TestCancelledLoginIsSettledAndAudited(t *testing.T) {
	t.Parallel()
	for name, login := range map[string]func(ctx context.Context, e *apptest.Env) error{
		"test login": func(ctx context.Context, e *apptest.Env) error {
			_, err := e.App.Departments.TestLogin(ctx, e.Admin, apptest.Meta, "fleet")
			return err
		},
		"verify on entry": func(ctx context.Context, e *apptest.Env) error {
			return e.App.Departments.SetCredential(ctx, e.Admin, apptest.Meta, departments.CredentialInput{
				Department: "fleet", Username: "fleet_uws", Password: apptest.GoodPW, Verify: true})
		},
		"devices page": func(ctx context.Context, e *apptest.Env) error {
			if err := e.App.Departments.SetAccount(context.Background(), e.Admin, apptest.Meta, "fleet", "0000123456-00001"); err != nil {
				return fmt.Errorf("set account: %w", err)
			}
			e.Sim.SeedDevices("0000123456-00001", 3, 1)
			_, err := e.App.Devices.List(ctx, e.Admin, apptest.Meta, "fleet", devices.Query{})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := apptest.New(t, apptest.Options{})
			e.Seed("fleet", "fleet_uws", models.ProtocolREST)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			e.Sim.SetHook(func(r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/session/login") {
					cancel() // the caller goes; ThingSpace handles the login as sent
				}
			})
			err := login(ctx, e)
			e.Sim.SetHook(nil)
			up := e.Sim.User(t, "fleet_uws")
			for deadline := time.Now().Add(5 * time.Second); up.LoginsOK+up.LoginFailures == 0 && time.Now().Before(deadline); {
				time.Sleep(5 * time.Millisecond)
				up = e.Sim.User(t, "fleet_uws")
			}
			if up.LoginsOK+up.LoginFailures != 1 {
				t.Fatalf("ThingSpace saw %d logins, want the cancelled one (err %v)", up.LoginsOK+up.LoginFailures, err)
			}
			events := apptest.Only(e.Events("fleet"), "upstream.login.")
			if len(events) != 1 {
				t.Errorf("ThingSpace saw the login; the audit trail has %v (err %v)", events, err)
			}
			var leased bool
			if qerr := e.DB.Pool.QueryRow(context.Background(),
				"SELECT lease_until IS NOT NULL AND lease_until > now() FROM upstream_accounts WHERE username = 'fleet_uws'").Scan(&leased); qerr != nil {
				t.Fatal(qerr)
			}
			if leased {
				t.Errorf("the cancelled login's lease is still held: every login with the username waits for it to expire")
			}
		})
	}
}

// A test login whose caller goes away while the guard reserves its lease
// (before anything is sent to ThingSpace) leaves no lease behind.
//
// Found by TestFaultSchedule (seed 1 under load, step 2: test login of a
// SOAP department cancelled after 109 ms; ThingSpace saw no login, the
// page said "transient", credential.tested was audited, and the lease
// stayed held). Today the reservation's transaction runs on the caller's
// context: cancelled during its COMMIT, the commit lands while the caller
// sees "context canceled" and never settles; the lease blocks every login
// with the username until it expires (5×HTTPTimeout, 150 s by default),
// and the guard then counts a failed login ThingSpace never saw.
// Skipped while knownCancelledReserveLeaks is set (UWSPORTAL_FAULT_STRICT=1
// runs it).
func TestCancelledReserveLeavesNoLease(t *testing.T) {
	if excused(knownCancelledReserveLeaks) {
		t.Skip("known defect (knownCancelledReserveLeaks); UWSPORTAL_FAULT_STRICT=1 runs it")
	}
	t.Parallel()
	e := apptest.New(t, apptest.Options{})
	e.Seed("fleet", "fleet_uws", models.ProtocolSOAP)
	// The moment the reservation commits differs between machines: sweep.
	for us := 0; us < 20000; us += 250 {
		ctx, cancel := context.WithCancel(context.Background())
		timer := time.AfterFunc(time.Duration(us)*time.Microsecond, cancel)
		res, err := e.App.Departments.TestLogin(ctx, e.Admin, apptest.Meta, "fleet")
		timer.Stop()
		cancel()
		var leased bool
		if qerr := e.DB.Pool.QueryRow(context.Background(),
			"SELECT lease_until IS NOT NULL AND lease_until > now() FROM upstream_accounts WHERE username = 'fleet_uws'").Scan(&leased); qerr != nil {
			t.Fatal(qerr)
		}
		if leased {
			up := e.Sim.User(t, "fleet_uws")
			t.Fatalf("cancelled after %dµs: %+v, %v; the lease is still held; ThingSpace saw %d logins", us, res, err, up.LoginsOK+up.LoginFailures)
		}
	}
}

// knownCancelledReserveLeaks excuses the defect TestCancelledReserveLeavesNoLease
// shows; set it to false once the guard reserves detached from its
// caller's cancellation.
const knownCancelledReserveLeaks = false

// A login whose failure quarantines the credential, settled while an
// administrator clears the same credential, is recorded: its
// upstream.login.failed event, the guard's count, its lease released.
//
// Found by TestFaultSchedule (make soak, seed 243851746, step 27: clear
// and test login of dept0 at once; ThingSpace saw the failed login, the
// trail has no event). ClearQuarantine locks the credential's row, then
// the account's; the guard's Settle locks the account's row, then the
// credential's to quarantine it. PostgreSQL detects the deadlock and
// aborts the settle; LoginWith joins that error to the login's and
// nobody logs it: the failed login is not counted (until its lease
// expires and the guard counts it as an orphan), not audited, and its
// lease blocks every login with the username meanwhile. Skipped while
// knownClearSettleDeadlock is set (UWSPORTAL_FAULT_STRICT=1 runs it).
func TestClearDoesNotLoseALogin(t *testing.T) {
	if excused(knownClearSettleDeadlock) {
		t.Skip("known defect (knownClearSettleDeadlock); UWSPORTAL_FAULT_STRICT=1 runs it")
	}
	t.Parallel()
	e := apptest.New(t, apptest.Options{Threshold: 3})
	e.SeedWrong("fleet", "fleet_uws")
	ctx := context.Background()
	for i := range 60 {
		// attention, one failure short of the threshold: the next failed
		// login quarantines it; the clear takes it back to idle.
		for _, q := range []string{"UPDATE credentials SET state = 'attention'",
			"UPDATE upstream_accounts SET consecutive_failures = 2, failures_since_success = 2, lease_id = NULL, lease_until = NULL"} {
			if _, err := e.DB.Pool.Exec(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		before := len(apptest.Only(e.Events("fleet"), "upstream.login.failed"))
		upBefore := e.Sim.User(t, "fleet_uws").LoginFailures
		var wg sync.WaitGroup
		var cerr, terr error
		wg.Add(2)
		go func() { defer wg.Done(); cerr = e.App.Departments.ClearQuarantine(ctx, e.Admin, apptest.Meta, "fleet") }()
		go func() { defer wg.Done(); _, terr = e.App.Departments.TestLogin(ctx, e.Admin, apptest.Meta, "fleet") }()
		wg.Wait()
		events := len(apptest.Only(e.Events("fleet"), "upstream.login.failed")) - before
		if up := e.Sim.User(t, "fleet_uws").LoginFailures - upBefore; up != events {
			t.Fatalf("round %d: ThingSpace saw %d failed logins, the trail has %d (clear: %v, test: %v)", i, up, events, cerr, terr)
		}
	}
}

// knownClearSettleDeadlock excuses the defect TestClearDoesNotLoseALogin
// shows; set it to false once clear and settle lock in one order.
const knownClearSettleDeadlock = false
