package approvals_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/approvals"
	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/models"
)

// Nobody approves or refuses their own request: not a lead, not an admin.
func TestNobodyDecidesTheirOwnRequest(t *testing.T) {
	t.Parallel()
	e := fleet(t, all)
	for _, p := range []*models.Principal{leadA, e.Admin} {
		a := ask(t, e, p, models.ApproveReveal)
		for _, approve := range []bool{true, false} {
			_, err := e.App.Approvals.Decide(ctx, p, apptest.Meta, a.ID, approve, "")
			apptest.WantKind(t, err, models.ErrForbidden)
		}
		if got := state(t, e, a.ID); got != models.ApprovalPending {
			t.Fatalf("%s's own decision changed the request to %s", p.Name, got)
		}
		if _, err := e.App.Departments.Reveal(ctx, p, apptest.Meta, "fleet", "ticket OPS-42 reveal", a.ID); err == nil {
			t.Fatalf("%s revealed with a request nobody approved", p.Name)
		}
	}
}

// A member, an auditor and a lead of another department cannot decide;
// a lead of the department can.
func TestOnlyAdminsAndLeadsOfTheDepartmentDecide(t *testing.T) {
	t.Parallel()
	e := fleet(t, all)
	a := ask(t, e, leadA, models.ApproveRotate)
	for _, p := range []*models.Principal{member, auditor, leadB} {
		_, err := e.App.Approvals.Decide(ctx, p, apptest.Meta, a.ID, true, "")
		apptest.WantKind(t, err, models.ErrForbidden)
	}
	if got := state(t, e, a.ID); got != models.ApprovalPending {
		t.Fatalf("state %s after refused decisions", got)
	}
	if _, err := e.App.Approvals.Decide(ctx, leadA2, apptest.Meta, a.ID, true, "go"); err != nil {
		t.Fatal(err)
	}
	// A decided request is not decided again.
	_, err := e.App.Approvals.Decide(ctx, admin2, apptest.Meta, a.ID, false, "")
	apptest.WantKind(t, err, models.ErrConflict)
}

// An approval is valid once, for its requester, for its action: another
// person, another action and a second use are refused, and nothing is
// done (no upstream call for deactivate).
func TestApprovalIsSpentOnceByItsRequesterForItsAction(t *testing.T) {
	t.Parallel()
	e := fleet(t, all)
	dev := activeDevices(t, e, 1)[0]
	a := approved(t, e, leadA, models.ApproveReveal)

	_, err := e.App.Departments.Reveal(ctx, leadA2, apptest.Meta, "fleet", "ticket OPS-42 reveal", a.ID)
	apptest.WantKind(t, err, models.ErrForbidden) // someone else's
	before := e.Sim.Stats()
	_, err = e.App.Devices.Act(ctx, leadA, apptest.Meta, "fleet", deactivate(dev, a.ID))
	apptest.WantKind(t, err, models.ErrForbidden) // another action's
	if after := e.Sim.Stats(); after.Requests != before.Requests {
		t.Fatalf("a refused deactivate reached ThingSpace: %+v → %+v", before, after)
	}
	_, err = e.App.Departments.Reveal(ctx, leadA, apptest.Meta, "fleet", "ticket OPS-42 reveal", 0)
	apptest.WantKind(t, err, models.ErrForbidden) // none offered
	rot := approved(t, e, leadA, models.ApproveRotate)
	_, err = e.App.Departments.Reveal(ctx, leadA, apptest.Meta, "fleet", "ticket OPS-42 reveal", rot.ID)
	apptest.WantKind(t, err, models.ErrForbidden) // a rotate approval does not reveal
	if got := state(t, e, a.ID); got != models.ApprovalApproved {
		t.Fatalf("refused uses changed the approval to %s", got)
	}
	pw, err := e.App.Departments.Reveal(ctx, leadA, apptest.Meta, "fleet", "ticket OPS-42 reveal", a.ID)
	if err != nil || pw.Reveal() != apptest.GoodPW {
		t.Fatalf("the requester's approved reveal: %v", err)
	}
	_, err = e.App.Departments.Reveal(ctx, leadA, apptest.Meta, "fleet", "ticket OPS-42 reveal", a.ID)
	apptest.WantKind(t, err, models.ErrConflict) // used
	if n := len(apptest.Only(e.Events("fleet"), models.EvCredentialRevealed)); n != 1 {
		t.Fatalf("%d reveals audited, want 1", n)
	}
}

// An approval past its window, and a refused request, are refused.
func TestExpiredAndRefusedApprovalsAreRefused(t *testing.T) {
	t.Parallel()
	e := fleet(t, all)
	a := approved(t, e, leadA, models.ApproveReveal)
	e.Clock.Advance(e.App.Approvals.Window() + 1)
	_, err := e.App.Departments.Reveal(ctx, leadA, apptest.Meta, "fleet", "ticket OPS-42 reveal", a.ID)
	apptest.WantKind(t, err, models.ErrConflict)
	if !strings.Contains(err.Error(), "expired") {
		t.Fatalf("message does not say expired: %v", err)
	}

	r := ask(t, e, leadA2, models.ApproveReveal)
	if _, err := e.App.Approvals.Decide(ctx, leadA, apptest.Meta, r.ID, false, "not today"); err != nil {
		t.Fatal(err)
	}
	_, err = e.App.Departments.Reveal(ctx, leadA2, apptest.Meta, "fleet", "ticket OPS-42 reveal", r.ID)
	apptest.WantKind(t, err, models.ErrConflict)
	if n := len(apptest.Only(e.Events("fleet"), models.EvCredentialRevealed)); n != 0 {
		t.Fatalf("%d reveals without a valid approval", n)
	}

	// A request nobody decides lapses after 24 hours, shown so before the sweep.
	p := ask(t, e, leadA, models.ApproveRotate)
	e.Clock.Advance(models.ApprovalPendingTTL)
	got, err := e.App.Approvals.Get(ctx, leadA, p.ID)
	if err != nil || got.StateAt(e.Clock.Now()) != models.ApprovalExpired {
		t.Fatalf("a 24-hour-old request reads %s (%v)", got.StateAt(e.Clock.Now()), err)
	}
	_, err = e.App.Approvals.Decide(ctx, leadA2, apptest.Meta, p.ID, true, "")
	apptest.WantKind(t, err, models.ErrConflict)
}

// A deactivate approval names its device: it does not deactivate another.
func TestDeactivateApprovalIsForItsDevicesOnly(t *testing.T) {
	t.Parallel()
	e := fleet(t, all)
	devs := activeDevices(t, e, 3)
	a := approved(t, e, leadA, models.ApproveDeactivate, devs[0])
	before := e.Sim.Stats()
	_, err := e.App.Devices.Act(ctx, leadA, apptest.Meta, "fleet", deactivate(devs[1], a.ID))
	apptest.WantKind(t, err, models.ErrForbidden)
	if after := e.Sim.Stats(); after.Requests != before.Requests {
		t.Fatalf("a deactivate of another device reached ThingSpace")
	}
	if d, _ := e.Sim.Device(account, devs[1].ID); d.State() != "active" {
		t.Fatalf("device B is %s", d.State())
	}
	res, err := e.App.Devices.Act(ctx, leadA, apptest.Meta, "fleet", deactivate(devs[0], a.ID))
	if err != nil || len(res) != 1 || res[0].Outcome != "accepted" {
		t.Fatalf("deactivate of the approved device: %v %+v", err, res)
	}
	if got := state(t, e, a.ID); got != models.ApprovalUsed {
		t.Fatalf("approval is %s after use", got)
	}
	// The operator at the command line is not under dual control.
	cli := &models.Principal{Actor: "cli:ops", Name: "ops", Grants: []models.Grant{{Role: models.RoleAdmin}}}
	if res, err := e.App.Devices.Act(ctx, cli, apptest.Meta, "fleet", deactivate(devs[2], 0)); err != nil || res[0].Outcome != "accepted" {
		t.Fatalf("the command line's deactivate: %v %+v", err, res)
	}
}

// With the settings off nothing changes: reveal, rotate now and
// deactivate work as before, and asking is refused as pointless.
func TestSettingOffChangesNothing(t *testing.T) {
	t.Parallel()
	e := fleet(t, models.ApprovalRules{})
	if _, err := e.App.Departments.Reveal(ctx, leadA, apptest.Meta, "fleet", "ticket OPS-42 reveal", 0); err != nil {
		t.Fatal(err)
	}
	dev := activeDevices(t, e, 1)[0]
	if res, err := e.App.Devices.Act(ctx, leadA, apptest.Meta, "fleet", deactivate(dev, 0)); err != nil || res[0].Outcome != "accepted" {
		t.Fatalf("deactivate: %v %+v", err, res)
	}
	if res, err := e.App.Rotation.RotateNow(ctx, leadA, apptest.Meta, "fleet", 0); err != nil || !res.Rotated() {
		t.Fatalf("rotate now: %v %+v", err, res)
	}
	_, err := e.App.Approvals.Request(ctx, leadA, apptest.Meta, approvals.Ask{Department: "fleet", Action: models.ApproveReveal, Reason: "x"})
	apptest.WantKind(t, err, models.ErrConflict)
	if n := len(apptest.Only(e.Events("fleet"), "approval.")); n != 0 {
		t.Fatalf("%d approval events with dual control off", n)
	}
}

// Rotate now under dual control: no upstream call at all without an
// approval; the command line and the scheduler need none.
func TestRotateNowNeedsApprovalBeforeAnyUpstreamCall(t *testing.T) {
	t.Parallel()
	e := fleet(t, models.ApprovalRules{Rotate: true})
	before := e.Sim.Stats()
	_, err := e.App.Rotation.RotateNow(ctx, leadA, apptest.Meta, "fleet", 0)
	apptest.WantKind(t, err, models.ErrForbidden)
	_, err = e.App.Rotation.Rotate(ctx, leadA, apptest.Meta, "fleet", models.TriggerManual)
	apptest.WantKind(t, err, models.ErrForbidden)
	if after := e.Sim.Stats(); after.Requests != before.Requests || e.Sim.User(t, "fleet_uws").ResetsApplied != 0 {
		t.Fatalf("rotate now without approval reached ThingSpace: %+v → %+v", before, after)
	}
	if n := len(apptest.Only(e.Events("fleet"), models.EvRotateStarted)); n != 0 {
		t.Fatalf("%d rotations started without approval", n)
	}
	a := approved(t, e, leadA, models.ApproveRotate)
	if res, err := e.App.Rotation.RotateNow(ctx, leadA, apptest.Meta, "fleet", a.ID); err != nil || !res.Rotated() {
		t.Fatalf("approved rotate now: %v %+v", err, res)
	}
	if _, err := e.App.Rotation.RotateNow(ctx, leadA, apptest.Meta, "fleet", a.ID); err == nil {
		t.Fatal("an approval rotated twice")
	}
	cli := &models.Principal{Actor: "cli:ops", Name: "ops", Grants: []models.Grant{{Role: models.RoleAdmin}}}
	if res, err := e.App.Rotation.Rotate(ctx, cli, apptest.Meta, "fleet", models.TriggerCLI); err != nil || !res.Rotated() {
		t.Fatalf("the command line's rotation: %v %+v", err, res)
	}
	if n := e.Sim.User(t, "fleet_uws").ResetsApplied; n != 2 {
		t.Fatalf("%d resets, want 2", n)
	}
	codes := e.Events("fleet")
	used := strings.Index(strings.Join(codes, " "), models.EvApprovalUsed)
	started := strings.Index(strings.Join(codes, " "), models.EvRotateStarted)
	if used < 0 || started < used {
		t.Fatalf("approval.used not recorded with the rotation's start: %v", codes)
	}
	e.NoLeak(apptest.GoodPW, e.Sim.User(t, "fleet_uws").Password)
}

// Every approval event names the department, targets the approval and
// carries the details notifications route on; none holds a secret.
func TestApprovalEventsCarryDepartmentAndDetails(t *testing.T) {
	t.Parallel()
	e := fleet(t, all)
	dev := activeDevices(t, e, 1)[0]
	a := approved(t, e, leadA, models.ApproveDeactivate, dev)
	if _, err := e.App.Devices.Act(ctx, leadA, apptest.Meta, "fleet", deactivate(dev, a.ID)); err != nil {
		t.Fatal(err)
	}
	r := ask(t, e, leadA2, models.ApproveReveal)
	if _, err := e.App.Approvals.Decide(ctx, leadA, apptest.Meta, r.ID, false, "use the gateway"); err != nil {
		t.Fatal(err)
	}
	x := ask(t, e, leadA, models.ApproveRotate)
	e.Clock.Advance(models.ApprovalPendingTTL)
	if n, err := e.App.Approvals.ExpireDue(ctx); err != nil || n != 1 {
		t.Fatalf("ExpireDue: %d %v", n, err)
	}
	extra := map[string][]string{
		models.EvApprovalRequested: {"reason", "expires_at"}, models.EvApprovalApproved: {"note", "expires_at"},
		models.EvApprovalRefused: {"note"}, models.EvApprovalExpired: {"expires_at", "previous_state"}, models.EvApprovalUsed: {"approver", "approver_name"},
	}
	seen := map[string]bool{}
	for _, row := range auditRows(t, e, "approval.") {
		seen[row.Code] = true
		id := fmt.Sprint(row.Detail["approval_id"])
		if row.Department != "fleet" || row.Target != "approval:"+id {
			t.Errorf("%s: department %q target %q", row.Code, row.Department, row.Target)
		}
		for _, k := range append([]string{"approval_id", "action", "requester", "requester_name"}, extra[row.Code]...) {
			if _, ok := row.Detail[k]; !ok {
				t.Errorf("%s: no %s in %v", row.Code, k, row.Detail)
			}
		}
		if _, ok := row.Detail["devices"]; ok != (row.Detail["action"] == "deactivate") {
			t.Errorf("%s: devices %v for action %v", row.Code, row.Detail["devices"], row.Detail["action"])
		}
		if id == fmt.Sprint(x.ID) && row.Code == models.EvApprovalExpired && row.Actor != models.ActorSystem {
			t.Errorf("expiry actor %q", row.Actor)
		}
	}
	for _, s := range models.Catalogue {
		if strings.HasPrefix(s.Code, "approval.") && !seen[s.Code] {
			t.Errorf("no %s event written", s.Code)
		}
	}
	if d := auditRows(t, e, models.EvApprovalRequested)[0].Detail; d["requester"] != leadA.Actor || d["requester_name"] != leadA.Name {
		t.Errorf("requester detail %v", d)
	}
	e.NoLeak(apptest.GoodPW)
}
