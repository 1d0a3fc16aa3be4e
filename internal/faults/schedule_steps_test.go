package faults

import (
	"context"
	"time"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/departments"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/upstream"
)

// stepKind is one kind of random operation.
type stepKind int

const (
	kEnterVerify stepKind = iota // enter a password with verify
	kReplace                     // replace without verify
	kTest                        // test login
	kRotate                      // rotate
	kSchedule                    // scheduler pass (the credential aged first, sometimes)
	kRecover                     // clock past the stuck timeout, ResolveStuck
	kCancel                      // an operation cancelled mid-call
	kAbandon                     // a process killed mid-call
	kClear                       // clear quarantine
	kFix                         // the admin sets a password upstream (and enters it)
	kSession                     // a use of the shared session
	kinds
)

var kindNames = [kinds]string{"enter+verify", "replace", "test", "rotate", "scheduler", "recover", "cancel", "abandon", "clear", "fix-upstream", "session"}

// kindWeights are the odds of each kind.
var kindWeights = [kinds]int{8, 5, 10, 12, 6, 6, 6, 3, 5, 5, 5}

// plan is every random draw of one step, made before it runs, so that a
// seed replays the same steps whatever the outcomes.
type plan struct {
	kind      stepKind
	dept      int
	inst      int
	right     bool   // enter ThingSpace's current password (else a wrong one)
	verify    bool   // fix-upstream: enter with verify
	enter     bool   // fix-upstream: enter at once (else later)
	unlock    bool   // fix-upstream: Verizon unlocked it (CountReset)
	age       bool   // scheduler: age the credential first
	yield     bool   // scheduler: give up leadership after the pass
	nth       int    // cancel/abandon on the nth login or reset
	sub       int    // cancel/abandon: which operation
	faults    faults // upstream faults during the step
	wrongPass string // a password ThingSpace does not know
}

func (w *world) drawPlan() plan {
	r := w.rng
	total := 0
	for _, wt := range kindWeights {
		total += wt
	}
	n, k := r.IntN(total), stepKind(0)
	for ; n >= kindWeights[k]; k++ {
		n -= kindWeights[k]
	}
	return plan{kind: k, dept: r.IntN(len(w.depts)), inst: r.IntN(2), right: r.IntN(10) < 6, verify: r.IntN(2) == 0,
		enter: r.IntN(5) > 0, unlock: r.IntN(5) < 2, age: r.IntN(2) == 0, yield: r.IntN(3) == 0,
		nth: 1 + r.IntN(3), sub: r.IntN(4), faults: w.drawFaults(), wrongPass: w.password()}
}

// outcome is what a step did that the invariants need.
type outcome struct {
	explicit   bool // the step's logins were a person's verify-on-entry
	resetPoint bool // an entry was saved or a quarantine cleared
	unlocked   bool // Verizon reset ThingSpace's count in this step
	mayRotate  bool // the step may make a reset
	cancelled  bool // the caller cancelled mid-call
	abandoned  bool // the process was killed mid-call
	orphaned   bool // known: a cancelled login left its lease (knownCancelUnsettled)
	killedAt   string
}

// run runs one step of plan on department d.
func (w *world) run(p plan, d *sdept) outcome {
	e := w.inst[p.inst]
	ctx := context.Background()
	switch p.kind {
	case kEnterVerify:
		return w.enter(e, d, w.pick(p.right, d, p.wrongPass), true, false)
	case kReplace:
		return w.enter(e, d, w.pick(p.right, d, p.wrongPass), false, false)
	case kTest:
		res, err := e.App.Departments.TestLogin(ctx, e.Admin, apptest.Meta, d.slug)
		w.logf("  test: ok=%v code=%s err=%v", res.OK, res.UpstreamCode, err)
	case kRotate:
		res, err := e.App.Rotation.Rotate(ctx, e.Admin, apptest.Meta, d.slug, "")
		w.logf("  rotate: %s state=%s code=%s err=%v", res.Result, res.State, res.UpstreamCode, err)
		return outcome{mayRotate: true}
	case kSchedule:
		return w.schedule(p, d)
	case kRecover:
		e.Clock.Advance(e.App.Upstream.StuckAfter() + time.Second)
		n, err := e.App.Rotation.ResolveStuck(ctx)
		w.logf("  recover: resolved %d err=%v", n, err)
	case kCancel:
		return w.cancelMidCall(p, e, d)
	case kAbandon:
		return w.abandonMidCall(p, d)
	case kClear:
		return w.clear(e, d)
	case kFix:
		return w.fixUpstream(p, e, d)
	case kSession:
		err := w.session(ctx, e, d)
		w.logf("  session: err=%v", err)
	}
	return outcome{}
}

// pick is ThingSpace's current password, or a wrong one.
func (w *world) pick(right bool, d *sdept, wrong string) string {
	if right {
		return w.sim().User(w.t, d.user).Password
	}
	return wrong
}

// enter enters pw for d as the administrator and updates the model.
func (w *world) enter(e *apptest.Env, d *sdept, pw string, verify, countReset bool) outcome {
	upPW := w.sim().User(w.t, d.user).Password
	err := e.App.Departments.SetCredential(context.Background(), e.Admin, apptest.Meta, departments.CredentialInput{
		Department: d.slug, Username: d.user, Password: secret.Secret(pw), Verify: verify, CountReset: countReset})
	w.logf("  enter: right=%v verify=%v count_reset=%v err=%v", pw == upPW, verify, countReset, err)
	out := outcome{explicit: verify}
	if err == nil {
		d.personMismatch, d.mayBeLost, out.resetPoint = pw != upPW, false, true
	}
	return out
}

func (w *world) schedule(p plan, d *sdept) outcome {
	if p.age {
		w.inst[0].Age(d.slug, 400*24*time.Hour)
	}
	sc := w.sched[p.inst]
	res, err := sc.Pass(context.Background())
	w.logf("  scheduler: aged=%v %+v err=%v", p.age, res, err)
	if p.yield {
		sc.Close()
	}
	return outcome{mayRotate: true}
}

func (w *world) clear(e *apptest.Env, d *sdept) outcome {
	err := e.App.Departments.ClearQuarantine(context.Background(), e.Admin, apptest.Meta, d.slug)
	w.logf("  clear: err=%v", err)
	if err != nil {
		return outcome{}
	}
	if w.inst[0].Stored(d.slug) != w.sim().User(w.t, d.user).Password {
		// The administrator cleared it without fixing its password.
		d.personMismatch = true
	}
	return outcome{resetPoint: true}
}

// fixUpstream: the administrator sets a new password in ThingSpace
// Manage (Verizon unlocking the account first, sometimes), then enters
// it, stating the count reset when Verizon did reset it.
func (w *world) fixUpstream(p plan, e *apptest.Env, d *sdept) outcome {
	pw := p.wrongPass // a fresh password, about to become the right one
	if p.unlock {
		if err := w.sim().Unlock(d.user); err != nil {
			w.t.Fatal(err)
		}
		d.auto = 0
	}
	w.sim().SetUser(d.user, pw)
	d.personMismatch, d.mayBeLost = w.inst[0].Stored(d.slug) != pw, false
	w.logf("  fix-upstream: unlock=%v enter=%v", p.unlock, p.enter)
	out := outcome{unlocked: p.unlock}
	if p.enter {
		in := w.enter(e, d, pw, p.verify, p.unlock)
		out.explicit, out.resetPoint = in.explicit, in.resetPoint
	}
	return out
}

// session makes sure d has a shared session, as a device operation does.
func (w *world) session(ctx context.Context, e *apptest.Env, d *sdept) error {
	r := e.Row(d.slug)
	who := upstream.Who{P: e.Admin, Meta: apptest.Meta, Purpose: upstream.PurposeUse, Department: d.slug, Protocol: d.proto}
	return e.App.Upstream.EnsureSession(ctx, who, r.Username)
}

// cancelMidCall runs an operation whose caller goes away (a closed tab)
// while ThingSpace handles its nth login or reset.
func (w *world) cancelMidCall(p plan, e *apptest.Env, d *sdept) (out outcome) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	firedAt := ""
	w.onNth(p.nth, func(kind string) { firedAt = kind; cancel() })
	out.cancelled = true
	defer func() {
		w.front.setHook(nil)
		w.front.idle(w.t)
		if firedAt == "login" {
			d.uncertain++ // audited as a counted failure, which ThingSpace may not have seen
		}
		if knownCancelUnsettled && firedAt == "login" && p.sub != 3 {
			// Known: the caller's cancellation reaches Settle, so the
			// login ThingSpace saw has no event and its lease stays
			// until it expires (TestCancelledLoginIsSettledAndAudited).
			if w.account(d.user).leased {
				d.unaudited++
				w.knownHits++
				out.orphaned = true
				w.logf("  known: the cancelled login left its lease and no event; time passes beyond the lease")
				w.expireLeases()
			}
		}
	}()
	switch p.sub {
	case 0:
		res, err := e.App.Departments.TestLogin(ctx, e.Admin, apptest.Meta, d.slug)
		w.logf("  cancel test #%d: ok=%v code=%s err=%v", p.nth, res.OK, res.UpstreamCode, err)
	case 1:
		pw := w.sim().User(w.t, d.user).Password
		err := e.App.Departments.SetCredential(ctx, e.Admin, apptest.Meta, departments.CredentialInput{
			Department: d.slug, Username: d.user, Password: secret.Secret(pw), Verify: true})
		w.logf("  cancel enter+verify #%d: err=%v", p.nth, err)
		out.explicit = true
		if err == nil {
			d.personMismatch, d.mayBeLost, out.resetPoint = false, false, true
		}
	case 2:
		err := w.session(ctx, e, d)
		w.logf("  cancel session #%d: err=%v", p.nth, err)
	case 3:
		res, err := e.App.Rotation.Rotate(ctx, e.Admin, apptest.Meta, d.slug, "")
		w.logf("  cancel rotate #%d: %s state=%s code=%s err=%v", p.nth, res.Result, res.State, res.UpstreamCode, err)
		out.mayRotate = true
	}
	return out
}

// knownCancelUnsettled excuses a known defect (see
// TestCancelledLoginIsSettledAndAudited): set it to false once a
// cancelled test login, verification or session login is settled and
// audited, and the schedule checks those strictly again.
const knownCancelUnsettled = false
