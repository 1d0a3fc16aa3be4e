package faults

import (
	"fmt"
	"strings"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/models"
)

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
	// After a statement that Verizon reset the count (made truthfully
	// here: see enter), ThingSpace's count is the failures since the first
	// such statement, which the guard judges a claimed verification by.
	err := w.checkDB.Pool.QueryRow(ctx, `SELECT consecutive_failures, coalesce(claim_failures, failures_since_success),
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
	err := w.checkDB.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE department = $1
	    AND (code = $2 OR (code = $3 AND COALESCE(detail->>'counted', '') <> 'false'))`,
		slug, models.EvUpstreamLoginOK, models.EvUpstreamLoginFailed).Scan(&n)
	if err != nil {
		w.t.Fatalf("count login events of %s: %v", slug, err)
	}
	return n
}

// stored is slug's stored password, decrypted (through apptest, over the
// test's own pool).
func (w *world) stored(slug string) string {
	w.t.Helper()
	e := &apptest.Env{T: w.t, DB: w.checkDB, Keys: w.keys}
	return e.Stored(slug)
}

func (w *world) state(slug string) models.CredentialState {
	w.t.Helper()
	ctx, cancel := checkCtx()
	defer cancel()
	r, err := w.checkDB.Credential(ctx, nil, slug, false)
	if err != nil {
		w.t.Fatalf("read credential %s: %v", slug, err)
	}
	return models.CredentialState(r.State)
}

// checkpoint gives recovery its chance: faults off, every instance up,
// the clock past the stuck timeout, one recovery pass; then no
// credential may be left resetting, verifying or unknown (invariant 6).
// Recovery's own logins are checked like a step's.
func (w *world) checkpoint() {
	w.t.Helper()
	w.stats.mu.Lock()
	w.stats.Checkpoints++
	w.stats.mu.Unlock()
	before := w.snapshot()
	e := w.inst[0].env
	w.clock.Advance(e.App.Upstream.StuckAfter() + 1e9)
	ctx, cancel := checkCtx()
	defer cancel()
	// After an outage the pool's idle connections are dead: the first use
	// of each fails once, as it would in production (the scheduler's next
	// pass, a minute later, tries again).
	var err error
	for try := 1; try <= 3; try++ {
		var n int
		n, err = e.App.Rotation.ResolveStuck(ctx)
		w.logf("checkpoint: recovery pass %d resolved %d, err=%v", try, n, err)
		if err == nil {
			break
		}
	}
	if err != nil {
		w.fail("recovery failed three times with the database up and no fault: %v", err)
	}
	w.front.idle(w.t)
	w.check(stepPlan{}, stepRun{calls: w.front.take()}, before)
	for _, d := range w.depts {
		w.stats.check("6-nothing-stuck-after-recovery")
		switch st := w.state(d.slug); st {
		case models.StateResetting, models.StateVerifying, models.StateUnknown:
			w.fail("invariant 6, %s: still %s after recovery had its chance", d.slug, st)
		}
	}
}

// eventSummary counts the credential and upstream events of the run: what
// the schedule reached (quarantines, lost answers, recoveries).
func (w *world) eventSummary() string {
	w.t.Helper()
	ctx, cancel := checkCtx()
	defer cancel()
	rows, err := w.checkDB.Pool.Query(ctx, `SELECT code, count(*) FROM audit_events
	  WHERE code LIKE 'credential.%' OR code LIKE 'upstream.%' OR code LIKE 'device.%' GROUP BY code ORDER BY code`)
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

// firstClaim reports whether no statement that Verizon reset user's count
// was made since its last successful login.
func (w *world) firstClaim(user string) bool {
	w.t.Helper()
	ctx, cancel := checkCtx()
	defer cancel()
	var none bool
	err := w.checkDB.Pool.QueryRow(ctx, `SELECT coalesce((SELECT claim_failures IS NULL FROM upstream_accounts WHERE username = lower($1)), true)`,
		user).Scan(&none)
	if err != nil {
		w.t.Fatalf("read claims of %s: %v", user, err)
	}
	return none
}
