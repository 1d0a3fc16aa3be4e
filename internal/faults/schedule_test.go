package faults

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"
)

// TestFaultSchedule is the randomized proof of the portal's promises: it
// never makes a fifth consecutive failed login with a UWS username, and
// it never loses a password ThingSpace generated.
//
// Each seed builds two portal instances in this process (internal/app
// through apptest), each with its own pool behind its own database proxy,
// its own door to one ThingSpace simulator and its own web server, on one
// database, with 3 departments (REST and SOAP, one UWS username each, an
// account with devices, an API client) and a quarantine threshold T
// drawn from 2..4. Each step runs 1 to 4 workers at once, each on either
// instance after a small random delay, so their operations overlap in
// time: enter a password with verify (right or wrong) or replace it,
// test login, rotate now, a scheduler pass (the credential aged first,
// sometimes), recovery after the stuck timeout, clear quarantine, an
// administrator fixing the password in ThingSpace Manage (after "Verizon
// unlocked it", with the count reset), the devices page's list and
// actions (internal/devices), and an application's list and actions
// through the gateway over HTTP; some callers go away mid-call. The step
// draws upstream faults from tsim's catalogue (cut answers included), and
// sometimes SIGKILL or SIGTERM (with a grace period) of an instance
// mid-step, or a PostgreSQL outage mid-step. Dead instances come back
// (resolving stuck rotations at start-up, as serve does) before the
// checks. After every step, for every username:
//
//  1. Lockout. ThingSpace's MaxConsecutiveFailures <= 4 and never Locked;
//     the portal never under-counts (ThingSpace's consecutive failures <=
//     failures_since_success, +1 while a lease is unsettled), which never
//     reaches 5. Threshold: the failed logins ThingSpace saw from
//     automatic paths since the last reset point are <= T (a person's
//     verification of a wrong password is told apart by the password the
//     login carried, and excluded).
//  2. No lost password. The stored password equals ThingSpace's, unless a
//     person made them differ, or a reset was applied whose answer the
//     portal could not read whole (the simulator knows) or whose instance
//     died, and the credential is flagged (attention, quarantined,
//     unknown, resetting or verifying).
//  3. A step's resets of a username are at most its operations that may
//     rotate it.
//  4. Every login is audited: ThingSpace's logins equal the counted
//     upstream.login events, give or take the logins in flight in an
//     instance that died or under a database outage, and those whose
//     caller went away or that a dying instance's door dropped unread
//     (audited as failures that may have counted).
//  5. Every lease is settled after a step in which no instance died and
//     the database stayed up.
//  6. Every few steps and at the end, recovery gets its chance (faults
//     off, the clock past the stuck timeout, one pass): then no credential
//     is resetting, verifying or unknown.
//  7. A password ThingSpace returned in a readable answer (its last byte
//     and the one after it were sent, cut or not) is kept: the stored
//     password is ThingSpace's, never replaced by attention, unless the
//     instance holding it was killed.
//  8. Every device call (devices page or gateway) carries a session of the
//     department's own username: sessions are keyed by username.
//  9. At the end, the audit trail's chain verifies whole: every event
//     either instance appended, in a change's transaction or through a
//     group commit, under kills and outages, is linked after the last.
//
// UWSPORTAL_FAULT_SEED=N replays seed N (the same draws; the timing may
// differ); UWSPORTAL_FAULT_REPLAY=path replays a failure's recorded
// interleaving (printed with the failure); UWSPORTAL_FAULT_SEEDS=N runs N
// random seeds (make soak SEEDS=N); UWSPORTAL_FAULT_STEPS=N sets the
// steps per seed. The figures of the run are logged at the end.
func TestFaultSchedule(t *testing.T) {
	total := newFigures()
	start := time.Now()
	t.Cleanup(func() { t.Logf("fault schedule figures (%s):\n%s", time.Since(start).Round(time.Second), total) })
	if path := os.Getenv("UWSPORTAL_FAULT_REPLAY"); path != "" {
		tr, err := loadTrace(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(fmt.Sprintf("replay-seed=%d", tr.Setup.Seed), func(t *testing.T) {
			runSchedule(t, tr.Setup, tr.Steps, len(tr.Steps), total)
		})
		return
	}
	seeds, steps := scheduleBudget(t)
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			runSchedule(t, drawSetup(seed, rand.New(rand.NewPCG(seed, seed^0x5eed))), nil, steps, total)
		})
	}
}

// runSchedule runs steps steps on a world of setup: replayed ones, or
// drawn from its seed.
func runSchedule(t *testing.T, setup worldSetup, replay []traceStep, steps int, total *figures) {
	w := newWorld(t, setup)
	w.replaying = replay
	defer total.merge(w.stats) // a failed seed's figures count too
	start := time.Now()
	for i := range steps {
		var p stepPlan
		if replay != nil {
			p = replay[i].Plan
		} else {
			p = w.drawStep(i, steps)
		}
		w.runStep(i, p)
	}
	w.checkChain()
	t.Logf("seed %d: %d steps in %s, all invariants held; excused as known %v; replayed calls out of turn %d; events %s",
		setup.Seed, steps, time.Since(start).Round(time.Millisecond), w.stats.Known, w.front.diverged, w.eventSummary())
}

// scheduleBudget reads the seeds and steps to run: one seed of 40 steps
// by default (15 with -short), a given seed, or N random ones.
func scheduleBudget(t *testing.T) (seeds []uint64, steps int) {
	t.Helper()
	steps = 40
	if testing.Short() {
		steps = 15
	}
	if v := os.Getenv("UWSPORTAL_FAULT_STEPS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("UWSPORTAL_FAULT_STEPS=%q: want a positive number", v)
		}
		steps = n
	}
	if v := os.Getenv("UWSPORTAL_FAULT_SEED"); v != "" {
		seed, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("UWSPORTAL_FAULT_SEED=%q: want a number", v)
		}
		return []uint64{seed}, steps
	}
	n := 1
	if v := os.Getenv("UWSPORTAL_FAULT_SEEDS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("UWSPORTAL_FAULT_SEEDS=%q: want a positive number", v)
		}
	}
	for range n {
		seeds = append(seeds, rand.Uint64()%1_000_000_000)
	}
	return seeds, steps
}
