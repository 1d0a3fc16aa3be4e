package thingspace_test

import (
	"errors"
	"testing"

	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/internal/tsim"
)

func suspendReq(d thingspace.Device) thingspace.ActionRequest {
	return thingspace.ActionRequest{AccountName: devAccount, Devices: ref(d)}
}

func TestLostActionAnswerIsUnknownAndNotRetried(t *testing.T) {
	for name, f := range map[string]tsim.Faults{
		"502 after applying":     {DeviceActionFailAfter: true},
		"dropped after applying": {DeviceActionDropAfter: true},
	} {
		t.Run(name, func(t *testing.T) {
			env, c := devClient(t, 20)
			a := inState(t, env, c, thingspace.StateActive)
			env.faults(t, f)
			res, err := c.DeviceAction(t.Context(), cred(testPassword), thingspace.ActionSuspend, suspendReq(a))
			if err == nil || res.RequestID != "" {
				t.Fatalf("lost answer: %+v, %v", res, err)
			}
			if !thingspace.OutcomeUnknown(err) || !errors.Is(err, thingspace.ErrOutcomeUnknown) || thingspace.ClassOf(err) != thingspace.ClassTransient {
				t.Fatalf("error %v: outcome unknown %v, class %v; want unknown and transient", err, thingspace.OutcomeUnknown(err), thingspace.ClassOf(err))
			}
			if got := simState(t, env, a.ID("iccid")); got != tsim.StateSuspend {
				t.Fatalf("state %s: the fault should apply the action", got)
			}
			if u := env.user(t); u.DeviceActions != 1 || u.DeviceActionsRejected != 0 || u.LoginsOK != 1 {
				t.Fatalf("%d actions applied, %d refused, %d logins: the action was retried", u.DeviceActions, u.DeviceActionsRejected, u.LoginsOK)
			}
		})
	}
}

func TestRefusedActionsAreKnown(t *testing.T) {
	env, c := devClient(t, 40)
	ctx, cr := t.Context(), cred(testPassword)
	s := inState(t, env, c, thingspace.StateSuspend)
	ghost := thingspace.Device{DeviceIDs: []thingspace.DeviceID{{Kind: "iccid", ID: "89148000000000000000"}}}
	for _, tc := range []struct {
		name, op string
		body     any
		code     string
	}{
		{"wrong state", thingspace.ActionSuspend, suspendReq(s), "REQUEST_FAILED.Device.InvalidState"},
		{"unknown device", thingspace.ActionRestore, suspendReq(ghost), "REQUEST_FAILED.Device.NotFound"},
		{"unknown account", thingspace.ActionRestore, thingspace.ActionRequest{AccountName: "0000000000-00009", Devices: ref(s)}, "REQUEST_FAILED.AccountNotFound"},
		{"no reason code", thingspace.ActionDeactivate, thingspace.DeactivateRequest{AccountName: devAccount, Devices: ref(s)}, "INPUT_INVALID.Request.InvalidField"},
	} {
		_, err := c.DeviceAction(ctx, cr, tc.op, tc.body)
		if thingspace.ClassOf(err) != thingspace.ClassBadRequest || thingspace.CodeOf(err) != tc.code || thingspace.OutcomeUnknown(err) {
			t.Errorf("%s: %v (class %v, code %q, unknown %v); want bad request %s, known", tc.name, err,
				thingspace.ClassOf(err), thingspace.CodeOf(err), thingspace.OutcomeUnknown(err), tc.code)
		}
	}
	if got := simState(t, env, s.ID("iccid")); got != tsim.StateSuspend {
		t.Fatalf("a refused action changed the state to %s", got)
	}
	if u := env.user(t); u.DeviceActions != 0 || u.DeviceActionsRejected != 4 || u.LoginsOK != 1 {
		t.Fatalf("%d applied, %d refused, %d logins", u.DeviceActions, u.DeviceActionsRejected, u.LoginsOK)
	}
}

func TestActionNotSentIsKnown(t *testing.T) {
	env, c := devClient(t, 20)
	a := inState(t, env, c, thingspace.StateActive)
	// Unknown action or no body: nothing leaves.
	for _, op := range []string{"reset", "list", ""} {
		if _, err := c.DeviceAction(t.Context(), cred(testPassword), op, suspendReq(a)); thingspace.ClassOf(err) != thingspace.ClassBadRequest || thingspace.OutcomeUnknown(err) {
			t.Errorf("action %q: %v", op, err)
		}
	}
	if _, err := c.DeviceAction(t.Context(), cred(testPassword), thingspace.ActionSuspend, nil); thingspace.ClassOf(err) != thingspace.ClassBadRequest {
		t.Errorf("no body: %v", err)
	}
	// The session expires and the new login fails: the action was refused
	// once (expired session) and never sent again, so its outcome is known
	// even when the login's own failure is a transient one.
	env.faults(t, tsim.Faults{ExpireSessionNext: true, LoginFailAfter: true})
	_, err := c.DeviceAction(t.Context(), cred(testPassword), thingspace.ActionSuspend, suspendReq(a))
	if thingspace.ClassOf(err) != thingspace.ClassTransient || thingspace.OutcomeUnknown(err) {
		t.Fatalf("login failed after an expired session: %v (class %v, unknown %v)", err, thingspace.ClassOf(err), thingspace.OutcomeUnknown(err))
	}
	env.sim.SetUser(testUser, "Changed!Elsewhere9")
	env.faults(t, tsim.Faults{ExpireSessionNext: true})
	_, err = c.DeviceAction(t.Context(), cred(testPassword), thingspace.ActionSuspend, suspendReq(a))
	if thingspace.ClassOf(err) != thingspace.ClassInvalidCredentials || thingspace.OutcomeUnknown(err) {
		t.Fatalf("login refused after an expired session: %v (class %v, unknown %v)", err, thingspace.ClassOf(err), thingspace.OutcomeUnknown(err))
	}
	if u := env.user(t); u.DeviceActions != 0 || u.Calls != 1 || u.LoginFailures != 1 {
		t.Fatalf("%d actions, %d calls, %d failed logins; want 0, 1 (the list), 1", u.DeviceActions, u.Calls, u.LoginFailures)
	}
}

func TestListNext(t *testing.T) {
	req := thingspace.ListDevicesRequest{AccountName: "a", LargestDeviceIDSeen: 10}
	dev := func(attr ...thingspace.KeyValue) thingspace.Device {
		return thingspace.Device{ExtendedAttributes: attr}
	}
	if _, more, err := (thingspace.ListDevicesResponse{}).Next(req); more || err != nil {
		t.Fatalf("last page: %v %v", more, err)
	}
	next, more, err := thingspace.ListDevicesResponse{HasMoreData: true, Devices: []thingspace.Device{dev(), dev(thingspace.KeyValue{Key: "DeviceId", Value: "42"})}}.Next(req)
	if err != nil || !more || next.LargestDeviceIDSeen != 42 || next.AccountName != "a" {
		t.Fatalf("next: %+v %v %v", next, more, err)
	}
	for _, bad := range []thingspace.ListDevicesResponse{
		{HasMoreData: true},
		{HasMoreData: true, Devices: []thingspace.Device{dev()}},
		{HasMoreData: true, Devices: []thingspace.Device{dev(thingspace.KeyValue{Key: "DeviceId", Value: "x"})}},
		{HasMoreData: true, Devices: []thingspace.Device{dev(thingspace.KeyValue{Key: "DeviceId", Value: "10"})}},
	} {
		if _, more, err := bad.Next(req); err == nil || more {
			t.Errorf("%+v: more %v, err %v; want an error", bad, more, err)
		}
	}
}

func TestConcurrentSuspendsApplyOnce(t *testing.T) {
	env, c := devClient(t, 20)
	a := inState(t, env, c, thingspace.StateActive)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			_, err := c.DeviceAction(t.Context(), cred(testPassword), thingspace.ActionSuspend, suspendReq(a))
			errs <- err
		}()
	}
	ok := 0
	for range 8 {
		switch err := <-errs; {
		case err == nil:
			ok++
		case thingspace.CodeOf(err) != "REQUEST_FAILED.Device.InvalidState":
			t.Errorf("concurrent suspend: %v", err)
		}
	}
	if u := env.user(t); ok != 1 || u.DeviceActions != 1 || u.DeviceActionsRejected != 7 || u.LoginsOK != 1 {
		t.Fatalf("%d suspends succeeded, %d applied, %d refused, %d logins; want 1, 1, 7, 1", ok, u.DeviceActions, u.DeviceActionsRejected, u.LoginsOK)
	}
}
