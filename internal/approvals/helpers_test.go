package approvals_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/uwsportal/uwsportal/internal/approvals"
	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/devices"
	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/models"
)

const account = "0000123456-00001"

var ctx = context.Background()

func person(actor, role, dept string) *models.Principal {
	return &models.Principal{Actor: actor, Name: "Person " + actor, Grants: []models.Grant{{Role: models.Role(role), Department: dept}}}
}

var (
	leadA   = person("20", "lead", "fleet")
	leadA2  = person("21", "lead", "fleet")
	admin2  = person("2", "admin", "")
	member  = person("30", "member", "fleet")
	auditor = person("40", "auditor", "")
	leadB   = person("50", "lead", "beta")
)

// fleet is a portal whose department fleet has a credential, an account,
// devices upstream, reveal allowed and the given approval rules.
func fleet(t *testing.T, rules models.ApprovalRules) *apptest.Env {
	t.Helper()
	e := apptest.New(t, apptest.Options{})
	e.Seed("fleet", "fleet_uws", models.ProtocolREST)
	e.SeedDept("beta", models.ProtocolREST, true)
	if err := e.App.Departments.UpdateSettings(ctx, e.Admin, apptest.Meta, "fleet", models.DepartmentSettings{Name: "Dept fleet",
		Protocol: models.ProtocolREST, RevealAllowed: true, AccountName: account, Approvals: rules}); err != nil {
		t.Fatal(err)
	}
	e.Sim.SeedDevices(account, 20, 3)
	return e
}

var all = models.ApprovalRules{Reveal: true, Deactivate: true, Rotate: true}

// ask files p's request, failing the test if it is refused.
func ask(t *testing.T, e *apptest.Env, p *models.Principal, action models.ApprovalAction, devs ...models.DeviceID) models.Approval {
	t.Helper()
	a, err := e.App.Approvals.Request(ctx, p, apptest.Meta, approvals.Ask{Department: "fleet", Action: action, Devices: devs, Reason: "ticket OPS-42: " + string(action)})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// approved is p's request approved by leadA2 (or admin2 when p is leadA2).
func approved(t *testing.T, e *apptest.Env, p *models.Principal, action models.ApprovalAction, devs ...models.DeviceID) models.Approval {
	t.Helper()
	a := ask(t, e, p, action, devs...)
	by := leadA2
	if p == leadA2 {
		by = admin2
	}
	a, err := e.App.Approvals.Decide(ctx, by, apptest.Meta, a.ID, true, "ok")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// activeDevices are n active devices upstream, by MDN.
func activeDevices(t *testing.T, e *apptest.Env, n int) []models.DeviceID {
	t.Helper()
	page, err := e.App.Devices.List(ctx, e.Admin, apptest.Meta, "fleet", devices.Query{State: thingspace.StateActive})
	if err != nil {
		t.Fatal(err)
	}
	var out []models.DeviceID
	for _, d := range page.Devices {
		if d.ID("mdn") != "" && len(out) < n {
			out = append(out, models.DeviceID{Kind: "mdn", ID: d.ID("mdn")})
		}
	}
	if len(out) < n {
		t.Fatalf("only %d active devices with an MDN", len(out))
	}
	return out
}

func deactivate(id models.DeviceID, approval int64) devices.Action {
	return devices.Action{Op: models.OpDeactivate, Devices: []models.DeviceID{id}, ReasonCode: "FF", Confirm: id.ID, Approval: approval}
}

func state(t *testing.T, e *apptest.Env, id int64) models.ApprovalState {
	t.Helper()
	a, ok, err := e.DB.Approval(ctx, nil, id)
	if err != nil || !ok {
		t.Fatalf("approval %d: %v %v", id, ok, err)
	}
	return a.State
}

// auditRow is one audit event as the tests check it.
type auditRow struct {
	Code, Department, Target, Actor string
	Detail                          map[string]any
}

func auditRows(t *testing.T, e *apptest.Env, prefix string) []auditRow {
	t.Helper()
	rows, err := e.DB.Pool.Query(ctx, "SELECT code, department, target, actor, detail::text FROM audit_events WHERE code LIKE $1 ORDER BY id", prefix+"%")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []auditRow
	for rows.Next() {
		var r auditRow
		var detail string
		if err := rows.Scan(&r.Code, &r.Department, &r.Target, &r.Actor, &detail); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(detail), &r.Detail); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}
