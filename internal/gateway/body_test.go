package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/uwsportal/uwsportal/internal/gateway"
	"github.com/uwsportal/uwsportal/models"
)

func devicesOf(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"deviceIds": []any{map[string]string{"kind": "mdn", "id": fmt.Sprintf("55510%05d", i)}}}
	}
	return out
}

// Group selectors and deletion flags are refused outright, an action
// names at most 100 devices, and nothing refused reaches ThingSpace.
func TestActionBodiesAreBounded(t *testing.T) {
	t.Parallel()
	p := newPortal(t, gateway.Limits{})
	app := p.app(t, p.client(t, "fleet", models.Operations...)).start()
	mdn := activeMDN(t, app)
	one := devicesOf(1)
	cases := []struct {
		name, op string
		body     map[string]any
		status   int
		code     string
	}{
		{"a group", "suspend", map[string]any{"groupName": "all-trucks", "servicePlan": "m2m4G"}, 403, "REQUEST_FAILED.SelectorNotAllowed"},
		{"a group with devices", "restore", map[string]any{"groupName": "g", "devices": one}, 403, "REQUEST_FAILED.SelectorNotAllowed"},
		{"custom fields", "suspend", map[string]any{"customFields": []any{map[string]string{"key": "k", "value": "v"}}, "devices": one}, 403, "REQUEST_FAILED.SelectorNotAllowed"},
		{"a case variant", "suspend", map[string]any{"GroupName": "g", "devices": one}, 403, "REQUEST_FAILED.SelectorNotAllowed"},
		{"a plan filter", "deactivate", map[string]any{"servicePlan": "m2m4G", "devices": one, "reasonCode": "FF"}, 403, "REQUEST_FAILED.SelectorNotAllowed"},
		{"delete after", "deactivate", map[string]any{"deleteAfterDeactivation": true, "devices": one, "reasonCode": "FF"}, 403, "REQUEST_FAILED.DeletionNotAllowed"},
		{"no devices", "suspend", map[string]any{}, 400, "INPUT_INVALID.Devices"},
		{"a device without ids", "suspend", map[string]any{"devices": []any{map[string]any{}}}, 400, "INPUT_INVALID.Devices"},
		{"3000 devices", "suspend", map[string]any{"devices": devicesOf(3000)}, 400, "INPUT_INVALID.Devices.TooMany"},
	}
	before := p.Sim.User(t, "fleet_uws")
	for _, c := range cases {
		c.body["accountName"] = account
		method := http.MethodPost
		a := app.do(method, "/api/m2m/v1/devices/actions/"+c.op, c.body, nil)
		if a.Status != c.status || a.code(t) != "UnifiedWebService."+c.code {
			t.Errorf("%s: %d %.200s, want %d %s", c.name, a.Status, a.Body, c.status, c.code)
		}
	}
	if after := p.Sim.User(t, "fleet_uws"); after.DeviceActions != before.DeviceActions || after.Calls != before.Calls {
		t.Fatalf("a refused body reached ThingSpace: %+v → %+v", before, after)
	}
	if st := p.state(t, mdn); st != "active" {
		t.Fatalf("the device is %q", st)
	}
	// servicePlan is the new plan of a plan change: accepted there.
	a := app.do(http.MethodPut, "/api/m2m/v1/devices/actions/plan", map[string]any{"accountName": account, "servicePlan": "m2m4G",
		"devices": []any{map[string]any{"deviceIds": []any{map[string]string{"kind": "mdn", "id": mdn}}}}}, nil)
	if a.Status != http.StatusOK {
		t.Fatalf("plan: %d %.200s", a.Status, a.Body)
	}
}

// An action of 100 devices is forwarded and every device is audited.
func TestEveryDeviceIsAudited(t *testing.T) {
	t.Parallel()
	p := newPortal(t, gateway.Limits{})
	app := p.app(t, p.client(t, "fleet", models.OpList, models.OpSuspend)).start()
	activeMDN(t, app)
	devs := devicesOf(100) // each with two identifiers: 200 in all
	for i, d := range devs {
		ids := d.(map[string]any)["deviceIds"].([]any)
		d.(map[string]any)["deviceIds"] = append(ids, map[string]string{"kind": "imei", "id": fmt.Sprintf("3517071%08d", i)})
	}
	a := app.do(http.MethodPost, "/api/m2m/v1/devices/actions/suspend", map[string]any{"accountName": account, "devices": devs}, nil)
	if a.Status >= 500 || a.Status == http.StatusForbidden {
		t.Fatalf("100 devices: %d %.200s", a.Status, a.Body)
	}
	var raw []byte
	if err := p.DB.Pool.QueryRow(ctx, `SELECT detail->'devices' FROM audit_events WHERE code = $1 AND detail->>'operation' = 'suspend'
	       ORDER BY id DESC LIMIT 1`, models.EvGatewayCall).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var audited []string
	if err := json.Unmarshal(raw, &audited); err != nil {
		t.Fatal(err)
	}
	if len(audited) != 100 || audited[99] != "mdn:5551000099+imei:351707100000099" {
		t.Fatalf("%d devices audited (last %v), want 100", len(audited), audited[len(audited)-1:])
	}
}
