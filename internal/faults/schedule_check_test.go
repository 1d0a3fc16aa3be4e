package faults

import (
	"context"
	"os"
	"slices"
	"strings"

	"github.com/uwsportal/uwsportal/internal/tsim"
	"github.com/uwsportal/uwsportal/models"
)

// simState is what the simulator and the audit trail say of one username.
type simState struct {
	up      tsim.Counters
	audited int // upstream.login.succeeded + counted upstream.login.failed
}

func (w *world) snapshot() []simState {
	out := make([]simState, len(w.depts))
	for i, d := range w.depts {
		out[i] = simState{up: w.upUser(d.user), audited: w.auditedLogins(d.slug)}
	}
	return out
}

// acts is what the step's operations did to one department.
type acts struct {
	saved, cleared, unlocked, fixed, rotating, cancelled bool
	explicit                                             map[string]bool // passwords a person's failed verification used
	// replaced: passwords a person entered without a verification, saved
	// or not as far as the step knows: a save whose commit reached
	// Postgres as its connection was cut (an outage, a killed instance)
	// is kept while its caller sees an error.
	replaced map[string]bool
	cutLate  bool // a reset-cut-late fault was armed on it
}

func (w *world) actsOn(p stepPlan, run stepRun, i int) acts {
	a := acts{explicit: map[string]bool{}, replaced: map[string]bool{}}
	for k, op := range p.Ops {
		r := run.results[k]
		r.ran = r.ran || run.started[k].Load() // a dead instance's operation may have acted before it died
		if op.Kind == opScheduler && r.ran {
			a.rotating = true // a pass may rotate any department
		}
		if op.Dept != i || !r.ran {
			continue
		}
		a.saved = a.saved || r.saved
		a.cleared = a.cleared || r.cleared
		a.unlocked = a.unlocked || r.unlocked
		a.fixed = a.fixed || r.fixed != ""
		a.rotating = a.rotating || op.Kind == opRotateNow
		a.cancelled = a.cancelled || r.cancelled
		// A person's verification login is theirs, not an automatic
		// path's: with a wrong password, or with the password they had
		// just set in ThingSpace when another fix-upstream of the same
		// step changed it again before the login (its entry then fails).
		if r.verify && (r.entered != r.fixed || !r.saved) {
			a.explicit[r.entered] = true
		}
		if op.Kind == opReplace && r.entered != "" {
			a.replaced[r.entered] = true
		}
		if op.Kind == opReplace && !op.Right {
			a.replaced[op.Password] = true
		}
	}
	for _, f := range p.Faults {
		a.cutLate = a.cutLate || (f.Dept == i && f.F.ResetCutAfter < 0)
	}
	return a
}

// check asserts the invariants after a step and moves the model on.
func (w *world) check(p stepPlan, run stepRun, before []simState) {
	w.t.Helper()
	after := w.snapshot()
	cut, leaked := len(run.killed) > 0 || run.outage, false
	for i, d := range w.depts {
		b, a := before[i].up, after[i].up
		ac := w.actsOn(p, run, i)
		w.moveModel(run, ac, d, b, a)
		w.checkLockout(d, a)
		w.checkPassword(d, ac, b, a, len(run.killed) > 0)
		w.checkResets(p, ac, d, b, a)
		w.stats.check("4-every-login-audited")
		if excess := a.LoginsOK + a.LoginFailures - after[i].audited - d.unaudited; excess > 0 && ac.cleared && excused(knownClearSettleDeadlock) {
			w.knownHit("clear-settle-deadlock", "known: a clear and a login's settle deadlocked; the login has no event and its lease stays (TestClearDoesNotLoseALogin)")
			d.unaudited += excess
			leaked = true
		}
		if a.LoginsOK+a.LoginFailures < after[i].audited-d.uncertain || a.LoginsOK+a.LoginFailures > after[i].audited+d.unaudited {
			w.fail("invariant 4, %s: ThingSpace saw %d logins (%d ok, %d failed), the audit trail has %d counted upstream.login events; %d logins died with their instance or database, %d may be audited without reaching ThingSpace",
				d.user, a.LoginsOK+a.LoginFailures, a.LoginsOK, a.LoginFailures, after[i].audited, d.unaudited, d.uncertain)
		}
		w.stats.check("5-every-lease-settled")
		if acct := w.account(d.user); acct.leased && !cut {
			if !(ac.cancelled && excused(knownCancelledReserveLeaks)) && !(ac.cleared && excused(knownClearSettleDeadlock)) {
				w.fail("invariant 5, %s: a login lease is still held after a step in which no instance died and the database stayed up", d.user)
			}
			w.knownHit("lease-left-held", "known: a lease left held by a cancelled reservation or a deadlocked settle (TestCancelledReserveLeavesNoLease, TestClearDoesNotLoseALogin); time passes beyond it")
			leaked = true
		}
	}
	w.checkSessionKeys(run.calls)
	if cut || leaked {
		w.expireLeases() // a dead instance's leases, or those whose settle the outage cut
	}
}

// checkSessionKeys is invariant 8: every device call carries a session of
// the department's own username (sessions are keyed by username; one
// department's work never runs on another's session).
func (w *world) checkSessionKeys(calls []call) {
	for _, c := range calls {
		if !strings.HasPrefix(c.Kind, "device-") || c.User == "" {
			continue // an expired session: ThingSpace refuses it
		}
		for _, d := range w.depts {
			if d.account != c.Account {
				continue
			}
			w.stats.check("8-own-session")
			if !strings.EqualFold(c.User, d.user) {
				w.fail("invariant 8, %s: a device call for %s's account carried a session of %s", d.slug, d.slug, c.User)
			}
		}
	}
}

// moveModel updates what the test knows of d after a step.
func (w *world) moveModel(run stepRun, ac acts, d *sdept, b, a tsim.Counters) {
	logins, dead, explicitFails := 0, 0, 0
	for _, c := range run.calls {
		if c.Kind != "login" || c.User != d.user {
			continue
		}
		logins++
		if run.killed[c.Instance] {
			dead++
		}
		if ac.explicit[c.password] {
			explicitFails++ // a wrong password fails
		}
	}
	d.unaudited += dead
	d.uncertain += dead
	// A login its instance wrote as it died, dropped unread at its door:
	// the portal may audit it as one that may have counted (its settle can
	// still reach the database for a moment); ThingSpace never saw it.
	d.uncertain += run.dropped[strings.ToLower(d.user)]
	if run.outage {
		d.unaudited += logins
		d.uncertain += logins
	}
	if ac.cancelled {
		d.uncertain += logins
	}
	auto := max(0, a.LoginFailures-b.LoginFailures-explicitFails)
	switch {
	case ac.saved || ac.cleared || ac.unlocked:
		d.auto = 0 // a reset point (lenient: failures after it in the step are not counted)
	case a.LoginsOK > b.LoginsOK:
		d.auto = min(a.ConsecutiveFailures, auto)
	default:
		d.auto += auto
	}
}

// thingSpaceLocksAt is ThingSpace's lock, written here rather than taken
// from the product's constants, so that a wrong constant fails the test.
const thingSpaceLocksAt = 5

// checkLockout is invariant 1.
func (w *world) checkLockout(d *sdept, a tsim.Counters) {
	w.stats.check("1-never-a-fifth-failure")
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
	w.stats.check("1-threshold")
	if d.auto > w.threshold {
		w.fail("invariant 1, %s: automatic paths made %d failed logins since the last reset point; the threshold is %d", d.user, d.auto, w.threshold)
	}
}

// checkPassword is invariant 2 (no lost password) and invariant 7 (a
// password ThingSpace returned in a readable answer is kept).
func (w *world) checkPassword(d *sdept, ac acts, b, a tsim.Counters, killed bool) {
	stored, up := w.stored(d.slug), a.Password
	switch {
	case ac.saved || ac.fixed || ac.replaced[stored]:
		d.personMismatch, d.mayBeLost = stored != up, false
	case ac.cleared && stored != up:
		d.personMismatch = true // cleared without fixing its password
	}
	if a.ResetsApplied > b.ResetsApplied && !d.personMismatch {
		readable := a.ResetsDelivered > b.ResetsDelivered && a.DeliveredPassword == up
		switch {
		case !readable || killed:
			d.mayBeLost = true // the portal never had it, or died with it
		case stored != up && ac.cutLate && excused(knownCutBodyDropped):
			w.knownHit("cut-body-dropped", "known: the password arrived whole in a cut answer and was dropped (issue 21, path 3)")
			d.mayBeLost = true
		default:
			w.stats.check("7-readable-answer-kept")
			if stored != up {
				w.fail("invariant 7, %s: ThingSpace returned the new password in a readable answer and the portal did not keep it; state %s",
					d.slug, w.state(d.slug))
			}
		}
	}
	w.stats.check("2-no-lost-password")
	if stored == up || d.personMismatch {
		return
	}
	st := w.state(d.slug)
	flagged := []models.CredentialState{models.StateAttention, models.StateQuarantined, models.StateUnknown, models.StateResetting, models.StateVerifying}
	if !d.mayBeLost || !slices.Contains(flagged, st) {
		w.fail("invariant 2, %s: the stored password is not ThingSpace's; state %s; a reset's answer could have been lost: %v", d.slug, st, d.mayBeLost)
	}
}

// checkResets is invariant 3: a step's resets per username are at most
// its operations that may rotate that credential.
func (w *world) checkResets(p stepPlan, ac acts, d *sdept, b, a tsim.Counters) {
	w.stats.check("3-one-reset-per-request")
	allowed := 0
	for _, op := range p.Ops {
		if op.Kind == opScheduler || (op.Kind == opRotateNow && w.depts[op.Dept] == d) {
			allowed++
		}
	}
	if n := a.ResetsApplied - b.ResetsApplied; n > allowed || (n > 0 && !ac.rotating) {
		w.fail("invariant 3, %s: %d resets applied in one step whose operations may rotate it %d times", d.user, n, allowed)
	}
}

func (w *world) knownHit(name, line string) {
	w.stats.known(name)
	w.logf("  %s", line)
}

// knownCutBodyDropped excuses a known defect (issue 21, path 3): a reset
// answered 200 whose connection is cut after the password arrived whole
// is treated as a lost answer, and the password is dropped. Set it to
// false once the lead's fix is merged: the schedule then checks it.
const knownCutBodyDropped = false

// excused reports whether a known defect is excused: UWSPORTAL_FAULT_STRICT=1
// excuses none (to see them fail, or to check a fix).
func excused(known bool) bool { return known && os.Getenv("UWSPORTAL_FAULT_STRICT") == "" }

// checkChain asserts invariant 9: the whole audit chain verifies.
func (w *world) checkChain() {
	w.t.Helper()
	w.stats.check("9-chain-verifies")
	res, err := w.checkDB.VerifyAudit(context.Background())
	if err != nil {
		w.fail("invariant 9: the chain could not be read: %v", err)
	}
	if !res.OK || res.Events == 0 {
		w.fail("invariant 9: the audit chain does not verify (%d events): event %d: %s", res.Events, res.FirstBad, res.Reason)
	}
}
