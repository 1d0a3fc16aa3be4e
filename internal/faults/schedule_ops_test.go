package faults

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/departments"
	"github.com/uwsportal/uwsportal/internal/devices"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/models"
)

// opResult is what an operation did that the model needs.
type opResult struct {
	ran        bool   // the instance took it (it was alive)
	saved      bool   // an entry was saved
	entered    string // the password entered
	verify     bool   // the entry was verified by a login (a person's)
	countReset bool   // the entry stated Verizon's count reset
	cleared    bool   // a quarantine was cleared
	fixed      string // fix-upstream: ThingSpace's new password
	unlocked   bool   // fix-upstream: Verizon unlocked the account
	cancelled  bool   // the caller went away mid-call
	summary    string
}

func devicesQuery() devices.Query { return devices.Query{} }

// runOp runs op on its instance (as of the op's start) and logs it. It
// never calls t.Fatal: it runs in a goroutine of its own.
func (w *world) runOp(op opPlan, in *instance, started *atomic.Bool) (res opResult) {
	d := w.depts[op.Dept]
	if !in.enter() {
		w.logf("  w%d %s %s on %s: refused, the instance is stopping or dead", op.Worker, op.Kind, d.slug, in.name)
		return res
	}
	defer in.leave()
	res.ran = true
	started.Store(true)
	ctx := in.ctx
	if op.CancelMS > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		timer := time.AfterFunc(time.Duration(op.CancelMS)*time.Millisecond, func() { cancel() })
		defer timer.Stop()
		res.cancelled = true
	}
	w.stats.op(op.Kind)
	done := w.stats.running()
	defer done()
	res.summary = w.doOp(ctx, op, in, d, &res)
	w.logf("  w%d %s %s on %s (cancel after %d ms): %s", op.Worker, op.Kind, d.slug, in.name, op.CancelMS, res.summary)
	return res
}

func (w *world) doOp(ctx context.Context, op opPlan, in *instance, d *sdept, res *opResult) string {
	e := in.env
	switch op.Kind {
	case opEnterVerify, opReplace:
		pw := op.Password
		if op.Right {
			pw = w.upPassword(d.user)
		}
		claim := op.Kind == opEnterVerify && op.CountReset
		if claim && !op.Right && excused(knownCountResetBuys) {
			w.knownHit("count-reset-with-wrong-password", "known: a count reset stated with a wrong password is not sent (issue 21, path 1)")
			claim = false
		}
		var mark *int64
		if claim {
			m, err := w.openForm(ctx, e, d)
			if err != nil {
				return sprintf("the form did not open: %v", err)
			}
			mark = m
		}
		return w.enter(ctx, e, d, pw, op.Kind == opEnterVerify, claim, mark, res)
	case opTest:
		r, err := e.App.Departments.TestLogin(ctx, e.Admin, apptest.Meta, d.slug)
		return sprintf("ok=%v code=%s err=%v", r.OK, r.UpstreamCode, err)
	case opRotateNow:
		r, err := e.App.Rotation.RotateNow(ctx, e.Admin, apptest.Meta, d.slug, 0)
		return sprintf("%s state=%s code=%s err=%v", r.Result, r.State, r.UpstreamCode, err)
	case opScheduler:
		return w.schedulerPass(ctx, op, in, d)
	case opRecover:
		w.clock.Advance(e.App.Upstream.StuckAfter() + time.Second)
		n, err := e.App.Rotation.ResolveStuck(ctx)
		return sprintf("resolved %d err=%v", n, err)
	case opClear:
		err := e.App.Departments.ClearQuarantine(ctx, e.Admin, apptest.Meta, d.slug)
		res.cleared = err == nil
		return sprintf("err=%v", err)
	case opFix:
		return w.fixUpstream(ctx, op, e, d, res)
	case opDeviceList:
		page, err := e.App.Devices.List(ctx, e.Admin, apptest.Meta, d.slug, devicesQuery())
		return sprintf("%d devices err=%v", len(page.Devices), err)
	case opDeviceAct:
		a := devices.Action{Op: deviceOp(op), Devices: []models.DeviceID{d.devices[op.Device%len(d.devices)]}}
		out, err := e.App.Devices.Act(ctx, e.Admin, apptest.Meta, d.slug, a)
		return sprintf("%s: %s err=%v", a.Op, outcomes(out), err)
	case opGatewayList, opGatewayAct:
		return w.gatewayCall(ctx, op, in, d)
	}
	return "unknown kind"
}

func deviceOp(op opPlan) models.Operation {
	if op.Suspend {
		return models.OpSuspend
	}
	return models.OpRestore
}

func outcomes(rs []devices.DeviceResult) string {
	s := ""
	for _, r := range rs {
		s += r.Outcome + "/" + r.Code + " "
	}
	return s
}

// openForm is the administrator opening the credential form to state a
// count reset, before calling Verizon: the page reads the account's
// failures mark (through the instance's database, as the portal does).
func (w *world) openForm(ctx context.Context, e *apptest.Env, d *sdept) (*int64, error) {
	m, err := e.DB.FailuresMark(ctx, d.user)
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// enter enters pw for d as the administrator, with the failures mark read
// when the form opened (openForm) for a count reset.
func (w *world) enter(ctx context.Context, e *apptest.Env, d *sdept, pw string, verify, countReset bool, mark *int64, res *opResult) string {
	if countReset && w.firstClaim(d.user) {
		// The first statement since the last successful login is made
		// because Verizon support did reset the count (a false one
		// overrides the guard by design: it needs a verification and is
		// audited, and no client can keep ThingSpace's count below 5
		// against it); repeating it is the administrator resubmitting,
		// which must buy nothing.
		if err := w.sim().Unlock(d.user); err != nil {
			w.t.Error(err)
		}
	}
	err := e.App.Departments.SetCredential(ctx, e.Admin, apptest.Meta, departments.CredentialInput{
		Department: d.slug, Username: d.user, Password: secret.Secret(pw), Verify: verify, CountReset: countReset, CountResetMark: mark})
	res.saved, res.entered, res.verify, res.countReset = err == nil, pw, verify, countReset
	return sprintf("right=%v verify=%v count_reset=%v err=%v", pw == w.upPassword(d.user), verify, countReset, err)
}

func (w *world) schedulerPass(ctx context.Context, op opPlan, in *instance, d *sdept) string {
	if op.Age {
		if _, err := in.db.Pool.Exec(ctx, "UPDATE credentials SET password_changed_at = $1 WHERE id = (SELECT c.id FROM credentials c JOIN departments d ON d.id = c.department_id WHERE d.slug = $2)",
			w.clock.Now().Add(-400*24*time.Hour), d.slug); err != nil {
			return sprintf("could not age: %v", err)
		}
	}
	r, err := in.sched.Pass(ctx)
	if op.Yield {
		in.sched.Close()
	}
	return sprintf("aged=%v %+v err=%v", op.Age, r, err)
}

// fixUpstream: the administrator sets a new password in ThingSpace
// Manage (Verizon unlocking the account first, sometimes), then enters
// it, stating the count reset when Verizon did reset it.
func (w *world) fixUpstream(ctx context.Context, op opPlan, e *apptest.Env, d *sdept, res *opResult) string {
	var mark *int64
	if op.Unlock && op.Enter {
		// The administrator has the form open before calling Verizon.
		m, err := w.openForm(ctx, e, d)
		if err != nil {
			return sprintf("the form did not open: %v", err)
		}
		mark = m
	}
	if op.Unlock {
		if err := w.sim().Unlock(d.user); err != nil {
			return sprintf("unlock: %v", err)
		}
	}
	w.sim().SetUser(d.user, op.Password)
	res.fixed, res.unlocked = op.Password, op.Unlock
	if !op.Enter {
		return sprintf("unlock=%v, not entered yet", op.Unlock)
	}
	return sprintf("unlock=%v, then ", op.Unlock) + w.enter(ctx, e, d, op.Password, op.Verify, op.Unlock, mark, res)
}

// knownCountResetBuys excuses a known defect (issue 21, path 1): "Verizon
// reset the failed-login count" is applied before the verification login
// and kept when that login fails, so an administrator who resubmits a
// wrong password with the box ticked resets the portal's count each time
// and locks the account. While it is true, the schedule does not state a
// count reset with a wrong password; set it to false once the lead's fix
// is merged.
const knownCountResetBuys = false

// upPassword is ThingSpace's current password of user (workers may not
// call t.Fatal: the simulator always has the schedule's users).
func (w *world) upPassword(user string) string {
	c, _ := w.sim().User(user)
	return c.Password
}
