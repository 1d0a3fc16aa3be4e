package gateway_test

import (
	"net/http"
	"testing"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/gateway"
	"github.com/uwsportal/uwsportal/models"
)

var lead = &models.Principal{UserID: 30, Actor: "30", Name: "Lee Lead", Grants: []models.Grant{{Role: models.RoleLead, Department: "fleet"}}}

// A lead's client does, at each call, only what it was given and the
// department's policy still grants leads: after an admin narrows the
// policy to list, its suspend is refused (and nothing is sent), its list
// still works, and the lead can still rotate its secret.
func TestPolicyChangeBoundsALeadsClient(t *testing.T) {
	t.Parallel()
	p := newPortal(t, gateway.Limits{})
	made, err := p.App.Gateway.Create(ctx, lead, apptest.Meta, "fleet", gateway.CreateInput{Name: "lead's app",
		Owner: "Lee Lead <lee@example.com>", Operations: []models.Operation{models.OpList, models.OpSuspend}})
	if err != nil {
		t.Fatal(err)
	}
	app := p.app(t, made).start()
	mdn := activeMDN(t, app)
	if err := p.App.Devices.SetPolicy(ctx, p.Admin, apptest.Meta, "fleet", models.DevicePolicy{models.RoleLead: {models.OpList}}); err != nil {
		t.Fatal(err)
	}
	before := p.Sim.User(t, "fleet_uws").DeviceActions
	if a := app.act("suspend", account, mdn, nil); a.Status != http.StatusForbidden || a.code(t) != "UnifiedWebService.REQUEST_FAILED.OperationNotAllowed" {
		t.Fatalf("suspend after the policy took it from leads: %d %.200s", a.Status, a.Body)
	}
	if p.Sim.User(t, "fleet_uws").DeviceActions != before || p.state(t, mdn) != "active" {
		t.Fatal("the refused suspend reached ThingSpace")
	}
	if a := app.list(account); !a.listed() {
		t.Fatalf("list: %d %.200s", a.Status, a.Body)
	}
	rot, err := p.App.Gateway.RotateSecret(ctx, lead, apptest.Meta, "fleet", made.Client.ID, 0)
	if err != nil {
		t.Fatalf("the lead could not rotate its own client's secret: %v", err)
	}
	fresh := p.app(t, rot)
	if a := fresh.oauth(); a.Status != http.StatusOK || a.json(t)["scope"] != "list" {
		t.Fatalf("token after the rotation: %d %.200s", a.Status, a.Body)
	}
	// Given back, the operation works again: nothing was cached or lost.
	if err := p.App.Devices.SetPolicy(ctx, p.Admin, apptest.Meta, "fleet", models.DefaultDevicePolicy()); err != nil {
		t.Fatal(err)
	}
	fresh.start()
	if a := fresh.act("suspend", account, mdn, nil); a.Status != http.StatusOK {
		t.Fatalf("suspend once the policy allows it again: %d %.200s", a.Status, a.Body)
	}
}

// Two instances: a policy change made on one refuses the very next call
// on the other.
func TestPolicyChangeOnOneInstanceRefusesOnTheOther(t *testing.T) {
	t.Parallel()
	a := newPortal(t, gateway.Limits{})
	b := a.second(t)
	made, err := a.App.Gateway.Create(ctx, lead, apptest.Meta, "fleet", gateway.CreateInput{Name: "lead's app",
		Owner: "Lee Lead <lee@example.com>", Operations: []models.Operation{models.OpList, models.OpSuspend, models.OpRestore}})
	if err != nil {
		t.Fatal(err)
	}
	onB := b.app(t, made).start()
	mdn := activeMDN(t, onB)
	if r := onB.act("suspend", account, mdn, nil); r.Status != http.StatusOK {
		t.Fatalf("suspend on B: %d %.200s", r.Status, r.Body)
	}
	if err := a.App.Devices.SetPolicy(ctx, a.Admin, apptest.Meta, "fleet", models.DevicePolicy{models.RoleLead: {models.OpList, models.OpSuspend}}); err != nil {
		t.Fatal(err)
	}
	if r := onB.act("restore", account, mdn, nil); r.Status != http.StatusForbidden || r.code(t) != "UnifiedWebService.REQUEST_FAILED.OperationNotAllowed" {
		t.Fatalf("restore on B after A took it from leads: %d %.200s", r.Status, r.Body)
	}
}
