package thingspace_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/internal/tsim"
)

const devAccount = "0000123456-00001"

// devClient is a client over a simulator holding n devices in devAccount.
func devClient(t *testing.T, n int) (*simEnv, *testClient) {
	t.Helper()
	env := newSimEnv(t)
	env.sim.SeedDevices(devAccount, n, 11)
	c, _ := newClient(t, env.rest(t), 3)
	return env, c
}

// inState returns the first device of devAccount in state.
func inState(t *testing.T, env *simEnv, c *testClient, state string) thingspace.Device {
	t.Helper()
	res, err := c.ListDevices(t.Context(), cred(testPassword), thingspace.ListDevicesRequest{AccountName: devAccount, CurrentState: state, MaxNumberOfDevices: 1})
	if err != nil || len(res.Devices) != 1 {
		t.Fatalf("a %s device: %v, %d devices", state, err, len(res.Devices))
	}
	return res.Devices[0]
}

func simState(t *testing.T, env *simEnv, iccid string) string {
	t.Helper()
	d, ok := env.sim.Device(devAccount, iccid)
	if !ok {
		t.Fatalf("simulator has no device %s", iccid)
	}
	return d.State()
}

func ref(d thingspace.Device) []thingspace.DeviceRef {
	return []thingspace.DeviceRef{{DeviceIDs: []thingspace.DeviceID{{Kind: "iccid", ID: d.ID("iccid")}}}}
}

func TestListDevicesEveryPageOneLogin(t *testing.T) {
	env, c := devClient(t, 1234)
	seen := map[string]int{}
	pages := 0
	err := c.EachDevicePage(t.Context(), cred(testPassword), thingspace.ListDevicesRequest{AccountName: devAccount, MaxNumberOfDevices: 100},
		func(devs []thingspace.Device) error {
			pages++
			for _, d := range devs {
				seen[d.ID("iccid")]++
				if d.AccountName != devAccount || d.State() == "" || len(d.DeviceIDs) < 2 || d.CreatedAt == "" {
					t.Errorf("device %+v", d)
				}
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1234 || pages != 13 {
		t.Fatalf("%d distinct devices in %d pages, want 1234 in 13", len(seen), pages)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("device %s listed %d times", id, n)
		}
	}
	if u := env.user(t); u.LoginsOK != 1 || u.DeviceLists != 13 {
		t.Fatalf("%d logins and %d list calls, want 1 and 13", u.LoginsOK, u.DeviceLists)
	}
}

func TestDeviceActionsChangeState(t *testing.T) {
	env, c := devClient(t, 200)
	ctx, cr := t.Context(), cred(testPassword)
	a, p := inState(t, env, c, thingspace.StateActive), inState(t, env, c, "Pre-active")
	ids := map[string]bool{}
	for _, step := range []struct {
		op   string
		body any
		dev  thingspace.Device
		want string
	}{
		{thingspace.ActionSuspend, thingspace.ActionRequest{AccountName: devAccount, Devices: ref(a)}, a, tsim.StateSuspend},
		{thingspace.ActionPlan, thingspace.ChangePlanRequest{AccountName: devAccount, Devices: ref(a), ServicePlan: "LTEM50MB"}, a, tsim.StateSuspend},
		{thingspace.ActionRestore, thingspace.ActionRequest{AccountName: devAccount, Devices: ref(a)}, a, tsim.StateActive},
		{thingspace.ActionDeactivate, thingspace.DeactivateRequest{AccountName: devAccount, Devices: ref(a), ReasonCode: "FF"}, a, tsim.StateDeactive},
		{thingspace.ActionActivate, thingspace.ActivateRequest{AccountName: devAccount, Devices: ref(p), ServicePlan: "m2m4G", MdnZipCode: "94105"}, p, tsim.StateActive},
	} {
		res, err := c.DeviceAction(ctx, cr, step.op, step.body)
		if err != nil || res.RequestID == "" || ids[res.RequestID] {
			t.Fatalf("%s: %+v, %v", step.op, res, err)
		}
		ids[res.RequestID] = true
		if got := simState(t, env, step.dev.ID("iccid")); got != step.want {
			t.Fatalf("after %s: state %s, want %s", step.op, got, step.want)
		}
	}
	if d, _ := env.sim.Device(devAccount, a.ID("iccid")); d.ServicePlan() != "LTEM50MB" {
		t.Fatalf("plan %s after the plan change", d.ServicePlan())
	}
	if d, _ := env.sim.Device(devAccount, p.ID("iccid")); d.ID("mdn") == "" || d.LastActivationBy != testUser {
		t.Fatalf("activated device %+v", d)
	}
	if u := env.user(t); u.LoginsOK != 1 || u.DeviceActions != 5 {
		t.Fatalf("%d logins, %d actions; want 1 and 5", u.LoginsOK, u.DeviceActions)
	}
}

func TestSessionExpiredBetweenOperationsCostsOneLogin(t *testing.T) {
	for name, expire := range map[string]func(*testing.T, *simEnv){
		"idle":     func(_ *testing.T, env *simEnv) { env.clock.Advance(21 * time.Minute) },
		"dropped":  func(_ *testing.T, env *simEnv) { env.sim.ExpireSessions() },
		"injected": func(t *testing.T, env *simEnv) { env.faults(t, tsim.Faults{ExpireSessionNext: true}) },
	} {
		t.Run(name, func(t *testing.T) {
			env, c := devClient(t, 20)
			a := inState(t, env, c, thingspace.StateActive)
			expire(t, env)
			if _, err := c.DeviceAction(t.Context(), cred(testPassword), thingspace.ActionSuspend, thingspace.ActionRequest{AccountName: devAccount, Devices: ref(a)}); err != nil {
				t.Fatal(err)
			}
			if got := simState(t, env, a.ID("iccid")); got != tsim.StateSuspend {
				t.Fatalf("state %s", got)
			}
			if u := env.user(t); u.LoginsOK != 2 || u.DeviceActions != 1 || u.LoginFailures != 0 {
				t.Fatalf("%d logins, %d actions, %d failed logins; want 2, 1, 0", u.LoginsOK, u.DeviceActions, u.LoginFailures)
			}
		})
	}
}

func TestRequestShapes(t *testing.T) {
	refs := []thingspace.DeviceRef{{DeviceIDs: []thingspace.DeviceID{{Kind: "iccid", ID: "89148000000000000001"}}}}
	devs := `"devices":[{"deviceIds":[{"kind":"iccid","id":"89148000000000000001"}]}]`
	no := false
	for _, c := range []struct {
		v    any
		want string
	}{
		{thingspace.ListDevicesRequest{AccountName: "a", DeviceID: &thingspace.DeviceID{Kind: "mdn", ID: "5"}, CurrentState: "active", MaxNumberOfDevices: 10, LargestDeviceIDSeen: 7,
			Filter: &thingspace.DeviceFilter{DeviceIdentifierFilters: []thingspace.DeviceIDSearch{{Kind: "iccid", StartsWith: "8914"}}}},
			`{"accountName":"a","deviceId":{"kind":"mdn","id":"5"},"filter":{"deviceIdentifierFilters":[{"kind":"iccid","startswith":"8914"}]},"currentState":"active","maxNumberOfDevices":10,"largestDeviceIdSeen":7}`},
		{thingspace.ActivateRequest{AccountName: "a", Devices: refs, ServicePlan: "p", MdnZipCode: "94105"}, `{"accountName":"a",` + devs + `,"servicePlan":"p","mdnZipCode":"94105"}`},
		{thingspace.ActionRequest{AccountName: "a", Devices: refs, WithBilling: &no}, `{"accountName":"a",` + devs + `,"withBilling":false}`},
		{thingspace.DeactivateRequest{AccountName: "a", Devices: refs, ReasonCode: "FF"}, `{"accountName":"a",` + devs + `,"reasonCode":"FF","etfWaiver":false}`},
		{thingspace.ChangePlanRequest{AccountName: "a", Devices: refs, ServicePlan: "p"}, `{"accountName":"a",` + devs + `,"servicePlan":"p"}`},
	} {
		b, err := json.Marshal(c.v)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != c.want {
			t.Errorf("%T:\n got %s\nwant %s", c.v, b, c.want)
		}
	}
}
