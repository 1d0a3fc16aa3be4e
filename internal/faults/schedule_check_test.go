package faults

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/tsim"
	"github.com/uwsportal/uwsportal/models"
)

// runSchedule runs steps random steps of seed, checking the invariants
// after each (see TestFaultSchedule).
func runSchedule(t *testing.T, seed uint64, steps int, bin string) {
	w := newWorld(t, seed, bin)
	start := time.Now()
	kinds := map[string]int{}
	for i := range steps {
		p := w.drawPlan()
		d := w.depts[p.dept]
		before := w.snapshot()
		w.logf("step %d: %s %s (%s) on instance %c, faults %s", i, kindNames[p.kind], d.slug, d.proto, 'a'+p.inst, p.faults)
		w.arm(p.faults, d)
		out := w.run(p, d)
		w.disarm()
		w.front.idle(t)
		w.check(p, out, before)
		kinds[kindNames[p.kind]]++
	}
	t.Logf("seed %d: %d steps in %s, all invariants held; kinds %v; excused as known %d; events %s", seed, steps,
		time.Since(start).Round(time.Millisecond), kinds, w.knownHits, w.eventSummary())
}

// eventSummary counts the credential and upstream events of the run: what
// the schedule reached (quarantines, lost answers, recoveries).
func (w *world) eventSummary() string {
	w.t.Helper()
	ctx, cancel := checkCtx()
	defer cancel()
	rows, err := w.inst[0].DB.Pool.Query(ctx, `SELECT code, count(*) FROM audit_events
	  WHERE code LIKE 'credential.%' OR code LIKE 'upstream.%' GROUP BY code ORDER BY code`)
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	var parts []string
	for rows.Next() {
		var code string
		var n int
		if err := rows.Scan(&code, &n); err != nil {
			w.t.Fatal(err)
		}
		parts = append(parts, fmt.Sprintf("%s:%d", code, n))
	}
	if err := rows.Err(); err != nil {
		w.t.Fatal(err)
	}
	return strings.Join(parts, " ")
}

// simState is what the simulator and the account say of one username.
type simState struct {
	up      tsim.Counters
	audited int // upstream.login.succeeded + counted upstream.login.failed
}

func (w *world) snapshot() []simState {
	out := make([]simState, len(w.depts))
	for i, d := range w.depts {
		out[i] = simState{up: w.sim().User(w.t, d.user), audited: w.auditedLogins(d.slug)}
	}
	return out
}

// check asserts the invariants after a step and moves the model on.
func (w *world) check(p plan, out outcome, before []simState) {
	w.t.Helper()
	after := w.snapshot()
	for i, d := range w.depts {
		b, a := before[i].up, after[i].up
		w.moveModel(p, out, i, d, b, a)
		w.checkLockout(d, a)
		w.checkPassword(d)
		w.checkResets(p, out, i, d, b, a)
		if a.LoginsOK+a.LoginFailures < after[i].audited-d.uncertain || a.LoginsOK+a.LoginFailures > after[i].audited+d.unaudited {
			w.fail("invariant 4, %s: ThingSpace saw %d logins (%d ok, %d failed), the audit trail has %d counted upstream.login events; %d logins died with their caller, %d were cancelled on the wire",
				d.user, a.LoginsOK+a.LoginFailures, a.LoginsOK, a.LoginFailures, after[i].audited, d.unaudited, d.uncertain)
		}
		if acct := w.account(d.user); acct.leased && !out.abandoned && !out.orphaned {
			w.fail("invariant 5, %s: a login lease is still held after a step that was not abandoned (cancelled: %v)", d.user, out.cancelled)
		}
	}
}

// moveModel updates the automatic-failure count and the lost-answer flag
// of department i after a step.
func (w *world) moveModel(p plan, out outcome, i int, d *sdept, b, a tsim.Counters) {
	acting := i == p.dept
	if acting && a.ResetsApplied > b.ResetsApplied && (p.faults.answerMayLose || out.killedAt == "reset") {
		d.mayBeLost = true
	}
	switch {
	case acting && out.resetPoint:
		d.auto = 0
	case acting && out.explicit:
		// A person's verify-on-entry: its failure is theirs to spend.
	case a.LoginsOK > b.LoginsOK:
		d.auto = a.ConsecutiveFailures
	default:
		d.auto += a.LoginFailures - b.LoginFailures
	}
}

// thingSpaceLocksAt is ThingSpace's lock, written here rather than taken
// from the product's constants, so that a wrong constant fails the test.
const thingSpaceLocksAt = 5

// checkLockout is invariant 1.
func (w *world) checkLockout(d *sdept, a tsim.Counters) {
	if a.MaxConsecutiveFailures >= thingSpaceLocksAt || a.Locked {
		w.fail("invariant 1, %s: ThingSpace saw %d consecutive failed logins (locked: %v)", d.user, a.MaxConsecutiveFailures, a.Locked)
	}
	acct := w.account(d.user)
	if acct.sinceSuccess >= thingSpaceLocksAt {
		w.fail("invariant 1, %s: failures_since_success is %d", d.user, acct.sinceSuccess)
	}
	orphan := 0
	if acct.leased || acct.leaseExpired {
		orphan = 1
	}
	if a.ConsecutiveFailures > acct.sinceSuccess+orphan {
		w.fail("invariant 1, %s: ThingSpace has %d consecutive failures, the portal counts %d since the last success (lease pending: %v)",
			d.user, a.ConsecutiveFailures, acct.sinceSuccess, orphan == 1)
	}
	if d.auto > w.threshold {
		w.fail("invariant 1, %s: automatic paths made %d failed logins since the last reset point; the threshold is %d", d.user, d.auto, w.threshold)
	}
}

// checkPassword is invariant 2.
func (w *world) checkPassword(d *sdept) {
	stored, up := w.inst[0].Stored(d.slug), w.sim().User(w.t, d.user).Password
	if stored == up || d.personMismatch {
		return
	}
	st := models.CredentialState(w.inst[0].Row(d.slug).State)
	flagged := []models.CredentialState{models.StateAttention, models.StateQuarantined, models.StateUnknown, models.StateResetting, models.StateVerifying}
	if !d.mayBeLost || !slices.Contains(flagged, st) {
		w.fail("invariant 2, %s: the stored password is not ThingSpace's; state %s; a reset's answer could have been lost: %v", d.slug, st, d.mayBeLost)
	}
}

// checkResets is invariant 3.
func (w *world) checkResets(p plan, out outcome, i int, d *sdept, b, a tsim.Counters) {
	n := a.ResetsApplied - b.ResetsApplied
	allowed := 0
	if out.mayRotate && (i == p.dept || p.kind == kSchedule) {
		allowed = 1
	}
	if n > allowed {
		w.fail("invariant 3, %s: %d resets applied in one %s step (allowed %d)", d.user, n, kindNames[p.kind], allowed)
	}
}

// account is the lockout guard's row of a username.
type account struct {
	consecutive, sinceSuccess int
	leased, leaseExpired      bool
}

func (w *world) account(user string) account {
	w.t.Helper()
	ctx, cancel := checkCtx()
	defer cancel()
	var a account
	err := w.inst[0].DB.Pool.QueryRow(ctx, `SELECT consecutive_failures, failures_since_success,
	    lease_until IS NOT NULL AND lease_until > now(), lease_until IS NOT NULL AND lease_until <= now()
	  FROM upstream_accounts WHERE username = lower($1)`, user).Scan(&a.consecutive, &a.sinceSuccess, &a.leased, &a.leaseExpired)
	if err != nil {
		w.t.Fatalf("read account %s: %v", user, err)
	}
	return a
}

// auditedLogins counts slug's login events that claim to have reached
// ThingSpace's login service (or may have).
func (w *world) auditedLogins(slug string) int {
	w.t.Helper()
	ctx, cancel := checkCtx()
	defer cancel()
	var n int
	err := w.inst[0].DB.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE department = $1
	    AND (code = $2 OR (code = $3 AND COALESCE(detail->>'counted', '') <> 'false'))`,
		slug, models.EvUpstreamLoginOK, models.EvUpstreamLoginFailed).Scan(&n)
	if err != nil {
		w.t.Fatalf("count login events of %s: %v", slug, err)
	}
	return n
}
