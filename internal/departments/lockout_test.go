package departments_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/departments"
	"github.com/uwsportal/uwsportal/models"
)

// Issue 13, path 1: an admin who types a wrong password into "enter
// credential" with verify on, again and again (the error invites a
// retry), never makes a fifth failed login — for a username with no
// credential yet as for an existing one.
func TestVerifyOnEntryNeverMakesAFifthFailure(t *testing.T) {
	t.Parallel()
	for _, existing := range []bool{false, true} {
		t.Run(map[bool]string{false: "new username", true: "existing credential"}[existing], func(t *testing.T) {
			t.Parallel()
			e := apptest.New(t, apptest.Options{})
			if existing {
				e.Seed("fleet", "fleet_uws", models.ProtocolREST)
			} else {
				e.SeedDept("fleet", models.ProtocolREST, false)
			}
			e.Sim.SetUser("fleet_uws", "Upstream-Kn0ws!Better")
			for range 8 {
				err := e.SetCredential("fleet", "fleet_uws", apptest.GoodPW, true)
				if err == nil {
					t.Fatal("a wrong password was saved")
				}
			}
			up := e.Sim.User(t, "fleet_uws")
			if up.Locked || up.MaxConsecutiveFailures > 4 {
				t.Fatalf("the account was walked into ThingSpace's lock: %+v", up)
			}
			if up.LoginFailures != 4 {
				t.Fatalf("%d failed logins upstream; the explicit verification may spend up to 4, never more", up.LoginFailures)
			}
			if existing {
				if got := e.Stored("fleet"); got != apptest.GoodPW {
					t.Fatal("a failed verification changed the stored password")
				}
			}
		})
	}
}

// Path 1, concurrently: two verifications at once (a double-click) with
// three failures already counted make at most one more attempt.
func TestConcurrentVerificationsShareTheCount(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{})
	e.SeedDept("fleet", models.ProtocolREST, false)
	e.Sim.SetUser("fleet_uws", "Upstream-Kn0ws!Better")
	for range 3 {
		if err := e.SetCredential("fleet", "fleet_uws", apptest.GoodPW, true); err == nil {
			t.Fatal("a wrong password was saved")
		}
	}
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			// ThingSpace refuses the password (the one attempt left), or
			// the guard refuses to try.
			err := e.SetCredential("fleet", "fleet_uws", apptest.GoodPW, true)
			if !errors.Is(err, models.ErrInvalid) && !errors.Is(err, models.ErrConflict) {
				t.Errorf("concurrent verification: %v", err)
			}
		})
	}
	wg.Wait()
	if up := e.Sim.User(t, "fleet_uws"); up.LoginFailures != 4 || up.Locked {
		t.Fatalf("concurrent verifications: %+v", up)
	}
}

// Path 2: ThingSpace counts per username, so one username belongs to one
// department; a second department entering it is refused by name, and
// nothing is sent upstream.
func TestOneUsernameOneDepartment(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{})
	e.Seed("fleet", "fleet_uws", models.ProtocolREST)
	e.SeedDept("field", models.ProtocolSOAP, false)
	before := e.Sim.User(t, "fleet_uws")
	for _, user := range []string{"fleet_uws", "FLEET_UWS"} {
		err := e.SetCredential("field", user, apptest.GoodPW, true)
		apptest.WantKind(t, err, models.ErrConflict)
		if msg, _ := models.SafeMessage(err); !strings.Contains(msg, "fleet") {
			t.Fatalf("the refusal does not name the department holding it: %q", msg)
		}
	}
	if after := e.Sim.User(t, "fleet_uws"); after.LoginsOK+after.LoginFailures != before.LoginsOK+before.LoginFailures {
		t.Fatalf("an upstream login was spent: %+v", after)
	}
	if _, err := e.DB.Credential(context.Background(), nil, "field", false); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("field got a credential: %v", err)
	}
}

// Path 4: replacing a credential without verification keeps ThingSpace's
// count of failures since the last success: after four, a typo in the new
// password must not become the fifth.
func TestReplaceKeepsTheFailuresSinceSuccess(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{})
	e.Seed("fleet", "fleet_uws", models.ProtocolREST)
	ctx := context.Background()
	e.Sim.SetUser("fleet_uws", "Upstream-Kn0ws!Better")
	for range 4 { // the admin's explicit verifications may go to 4
		if err := e.SetCredential("fleet", "fleet_uws", "Wr0ng-Guess!Number", true); !errors.Is(err, models.ErrInvalid) {
			t.Fatalf("a wrong guess: %v, want ThingSpace's refusal", err)
		}
	}
	// The admin sets a password in ThingSpace Manage, and enters it with a typo.
	e.Sim.SetUser("fleet_uws", "Gl4cier#Orbit-Maple7")
	if err := e.SetCredential("fleet", "fleet_uws", "Gl4cier#Orbit-Mapel7", false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.App.Departments.TestLogin(ctx, e.Admin, apptest.Meta, "fleet"); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("test login after a plain replace at 4 failures: %v", err)
	}
	if _, err := e.App.Rotation.Rotate(ctx, e.Admin, apptest.Meta, "fleet", ""); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("rotation after a plain replace at 4 failures: %v", err)
	}
	if up := e.Sim.User(t, "fleet_uws"); up.MaxConsecutiveFailures > 4 || up.Locked {
		t.Fatalf("a fifth failure: %+v", up)
	}
	// Only the admin's statement that Verizon reset the count lets it try again.
	err := e.App.Departments.SetCredential(ctx, e.Admin, apptest.Meta, departments.CredentialInput{Department: "fleet",
		Username: "fleet_uws", Password: "Gl4cier#Orbit-Maple7", Verify: true, CountReset: true})
	if err != nil {
		t.Fatal(err)
	}
	if row := e.Row("fleet"); row.FailuresSinceSuccess != 0 || row.State != "idle" {
		t.Fatalf("row %+v", row)
	}
}

// Issue 21, path 1: "Verizon reset the count" with a wrong password,
// submitted again and again (from the page or the command line), buys at
// most the attempts ThingSpace's own count allows: the claim is never
// applied before the verification, and repeating it resets nothing.
func TestRepeatedCountResetClaimsNeverLockTheAccount(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{})
	e.SeedWrong("fleet", "fleet_uws")
	ctx := context.Background()
	for range 6 { // the portal reaches its cap with the wrong stored password
		if res, err := e.App.Departments.TestLogin(ctx, e.Admin, apptest.Meta, "fleet"); res.OK || (err != nil && !errors.Is(err, models.ErrConflict)) {
			t.Fatalf("test login with a wrong password: %+v %v", res, err)
		}
		if err := e.App.Departments.ClearQuarantine(ctx, e.Admin, apptest.Meta, "fleet"); err != nil && !errors.Is(err, models.ErrConflict) {
			t.Fatal(err)
		}
	}
	if up := e.Sim.User(t, "fleet_uws"); up.ConsecutiveFailures != 4 {
		t.Fatalf("set-up: %d failures upstream, want the cap (4)", up.ConsecutiveFailures)
	}
	// Verizon support unlocks the account (ThingSpace's count is 0); the
	// admin then mistypes the new password seven times, claiming the reset.
	if err := e.Sim.Unlock("fleet_uws"); err != nil {
		t.Fatal(err)
	}
	e.Sim.SetUser("fleet_uws", "Upstream-Kn0ws!Better")
	for i := range 7 {
		err := e.App.Departments.SetCredential(ctx, e.Admin, apptest.Meta, departments.CredentialInput{Department: "fleet",
			Username: "fleet_uws", Password: apptest.GoodPW, Verify: true, CountReset: true})
		if err == nil {
			t.Fatalf("submission %d: a wrong password was saved", i)
		}
	}
	up := e.Sim.User(t, "fleet_uws")
	if up.Locked || up.ConsecutiveFailures > 4 {
		t.Fatalf("repeated claims walked the account into ThingSpace's lock: %+v", up)
	}
	if slices.Contains(e.Events("fleet"), models.EvFailuresReset) {
		t.Fatal("a claim was recorded although nothing was saved")
	}
	// The claim's four attempts are spent: another claim buys nothing,
	// even with the right password; only a successful login frees them.
	if err := e.Sim.Unlock("fleet_uws"); err != nil {
		t.Fatal(err)
	}
	e.Sim.SetUser("fleet_uws", apptest.GoodPW)
	err := e.App.Departments.SetCredential(ctx, e.Admin, apptest.Meta, departments.CredentialInput{Department: "fleet",
		Username: "fleet_uws", Password: apptest.GoodPW, Verify: true, CountReset: true})
	if !errors.Is(err, models.ErrConflict) {
		t.Fatalf("a fifth attempt under repeated claims: %v", err)
	}
}

// A failure that lands after Verizon's reset but before the statement
// reaches the portal counts toward ThingSpace's lock: the statement covers
// the failures recorded since the administrator opened the form (its
// mark), not since the submission, so the claimed verifications that
// follow never make a fifth consecutive failure.
func TestCountResetCoversTheFailuresSinceTheFormOpened(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{})
	e.SeedWrong("fleet", "fleet_uws")
	ctx := context.Background()
	for range 3 { // some failures before the admin calls Verizon
		if err := e.SetCredential("fleet", "fleet_uws", apptest.GoodPW, true); !errors.Is(err, models.ErrInvalid) {
			t.Fatalf("a wrong guess: %v, want ThingSpace's refusal", err)
		}
	}
	// The admin opens the form, then calls Verizon, who unlocks the account.
	mark, err := e.App.Departments.FailuresMark(ctx, e.Admin, "fleet", "FLEET_UWS")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Sim.Unlock("fleet_uws"); err != nil {
		t.Fatal(err)
	}
	// Meanwhile another administrator's verification (no statement) fails
	// after the reset: ThingSpace counts it.
	if err := e.SetCredential("fleet", "fleet_uws", apptest.GoodPW, true); !errors.Is(err, models.ErrInvalid) {
		t.Fatalf("a wrong guess after the reset: %v, want ThingSpace's refusal", err)
	}
	// The admin submits the statement with a wrong password until the
	// guard refuses.
	refused := false
	for i := range 8 {
		err := e.App.Departments.SetCredential(ctx, e.Admin, apptest.Meta, departments.CredentialInput{Department: "fleet",
			Username: "fleet_uws", Password: apptest.GoodPW, Verify: true, CountReset: true, CountResetMark: &mark})
		if up, tally := e.Sim.User(t, "fleet_uws"), claimTally(t, e, "fleet_uws"); tally < up.ConsecutiveFailures {
			t.Fatalf("submission %d: ThingSpace has %d consecutive failures, the guard counts %d", i, up.ConsecutiveFailures, tally)
		}
		if errors.Is(err, models.ErrConflict) {
			refused = true
			break
		}
		if !errors.Is(err, models.ErrInvalid) {
			t.Fatalf("submission %d: %v, want ThingSpace's refusal", i, err)
		}
	}
	if !refused {
		t.Fatal("the guard never refused a claimed verification")
	}
	if up := e.Sim.User(t, "fleet_uws"); up.Locked || up.MaxConsecutiveFailures > 4 || up.ConsecutiveFailures != 4 {
		t.Fatalf("the statement's attempts, want exactly those left before ThingSpace's lock: %+v", up)
	}
}

// claimTally is the count the guard judges a claimed verification of user
// by, once its tally runs (else the failures since the last success).
func claimTally(t *testing.T, e *apptest.Env, user string) int {
	t.Helper()
	var n int
	if err := e.DB.Pool.QueryRow(context.Background(), `SELECT coalesce(claim_failures, failures_since_success)
	  FROM upstream_accounts WHERE username = lower($1)`, user).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A form's failures mark counts only for the username it was read for
// (compared as ThingSpace counts, case-insensitively).
func TestMarkForTheUsernameItWasReadFor(t *testing.T) {
	t.Parallel()
	if m := departments.MarkFor("Fleet_UWS", 3, " fleet_uws"); m == nil || *m != 3 {
		t.Fatalf("same username: %v", m)
	}
	for _, markUser := range []string{"", "field_uws"} {
		if m := departments.MarkFor(markUser, 3, "fleet_uws"); m != nil {
			t.Fatalf("mark for %q used for fleet_uws", markUser)
		}
	}
}
