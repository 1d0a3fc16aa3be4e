package devices_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/devices"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/internal/tsim"
	"github.com/uwsportal/uwsportal/models"
)

const account = "0000123456-00001"

var ctx = context.Background()

func person(id, role, dept string) *models.Principal {
	return &models.Principal{UserID: 10, Actor: id, Name: "Person " + id, Grants: []models.Grant{{Role: models.Role(role), Department: dept}}}
}

var (
	lead    = person("20", "lead", "fleet")
	member  = person("21", "member", "fleet")
	other   = person("22", "lead", "beta")
	auditor = &models.Principal{UserID: 23, Actor: "23", Name: "Aud", Grants: []models.Grant{{Role: models.RoleAuditor}}}
)

// fleet is a portal with department fleet, its credential, its account
// and 250 devices upstream.
func fleet(t *testing.T, o apptest.Options) *apptest.Env {
	t.Helper()
	e := apptest.New(t, o)
	e.Seed("fleet", "fleet_uws", models.ProtocolREST)
	if err := e.App.Departments.SetAccount(ctx, e.Admin, apptest.Meta, "fleet", account); err != nil {
		t.Fatal(err)
	}
	e.Sim.SeedDevices(account, 250, 7)
	return e
}

// active is an active device's MDN upstream.
func active(t *testing.T, e *apptest.Env) models.DeviceID {
	t.Helper()
	page, err := e.App.Devices.List(ctx, lead, apptest.Meta, "fleet", devices.Query{State: thingspace.StateActive})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range page.Devices {
		if d.ID("mdn") != "" {
			return models.DeviceID{Kind: "mdn", ID: d.ID("mdn")}
		}
	}
	t.Fatal("no active device with an MDN")
	return models.DeviceID{}
}

func upstreamState(t *testing.T, e *apptest.Env, id models.DeviceID) string {
	t.Helper()
	d, ok := e.Sim.Device(account, id.ID)
	if !ok {
		t.Fatalf("simulator has no device %s", id.ID)
	}
	return d.State()
}

// Every page of every device comes back exactly once, through the cursor.
func TestListPagesThroughEveryDevice(t *testing.T) {
	t.Parallel()
	e := fleet(t, apptest.Options{})
	seen := map[string]bool{}
	q := devices.Query{}
	for pages := 0; ; pages++ {
		page, err := e.App.Devices.List(ctx, member, apptest.Meta, "fleet", q)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.Devices {
			key := d.ID("iccid")
			if seen[key] {
				t.Fatalf("device %s listed twice", key)
			}
			seen[key] = true
		}
		if page.Next == 0 {
			break
		}
		q.After = page.Next
		if pages > 10 {
			t.Fatal("the cursor does not advance")
		}
	}
	if len(seen) != 250 {
		t.Fatalf("%d devices listed, want 250", len(seen))
	}
	if up := e.Sim.User(t, "fleet_uws"); up.LoginsOK != 1 {
		t.Fatalf("%d logins for one session", up.LoginsOK)
	}
}

// The policy per role: member lists, cannot act; a lead of another
// department cannot even list; an auditor nothing; a lead suspends and
// restores, each audited with the person and ThingSpace's request id.
func TestPolicyPerRoleAndDepartment(t *testing.T) {
	t.Parallel()
	e := fleet(t, apptest.Options{})
	id := active(t, e)
	for name, c := range map[string]struct {
		p  *models.Principal
		op models.Operation
	}{
		"member suspends":       {member, models.OpSuspend},
		"lead of beta lists":    {other, models.OpList},
		"lead of beta suspends": {other, models.OpSuspend},
		"auditor lists":         {auditor, models.OpList},
	} {
		var err error
		if c.op == models.OpList {
			_, err = e.App.Devices.List(ctx, c.p, apptest.Meta, "fleet", devices.Query{})
		} else {
			_, err = e.App.Devices.Act(ctx, c.p, apptest.Meta, "fleet", devices.Action{Op: c.op, Devices: []models.DeviceID{id}})
		}
		if !errors.Is(err, models.ErrForbidden) {
			t.Errorf("%s: %v, want forbidden", name, err)
		}
	}
	if got := len(apptest.Only(e.Events("fleet"), models.EvAccessDenied)); got != 4 {
		t.Errorf("%d access.denied events, want 4", got)
	}
	if st := upstreamState(t, e, id); st != thingspace.StateActive {
		t.Fatalf("a refused action changed the device: %s", st)
	}
	for _, step := range []struct {
		op   models.Operation
		want string
	}{{models.OpSuspend, thingspace.StateSuspend}, {models.OpRestore, thingspace.StateActive}} {
		res, err := e.App.Devices.Act(ctx, lead, apptest.Meta, "fleet", devices.Action{Op: step.op, Devices: []models.DeviceID{id}})
		if err != nil || len(res) != 1 || res[0].Outcome != devices.Accepted || res[0].RequestID == "" {
			t.Fatalf("%s: %+v %v", step.op, res, err)
		}
		if st := upstreamState(t, e, id); !thingspace.SameState(st, step.want) {
			t.Fatalf("after %s the device is %s", step.op, st)
		}
	}
	var detail string
	if err := e.DB.Pool.QueryRow(ctx, "SELECT actor || ' ' || detail::text FROM audit_events WHERE code = $1", models.EvDeviceSuspend).Scan(&detail); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{lead.Actor + " ", id.ID, "request_id", "fleet_uws", "accepted"} {
		if !strings.Contains(detail, want) {
			t.Errorf("the suspend event lacks %q: %s", want, detail)
		}
	}
}

// A session that expires between two operations costs exactly one login.
func TestExpiredSessionCostsOneLogin(t *testing.T) {
	t.Parallel()
	e := fleet(t, apptest.Options{})
	if _, err := e.App.Devices.List(ctx, member, apptest.Meta, "fleet", devices.Query{}); err != nil {
		t.Fatal(err)
	}
	e.Sim.ExpireSessions()
	if _, err := e.App.Devices.List(ctx, member, apptest.Meta, "fleet", devices.Query{}); err != nil {
		t.Fatal(err)
	}
	if up := e.Sim.User(t, "fleet_uws"); up.LoginsOK != 2 || up.LoginFailures != 0 {
		t.Fatalf("logins %+v", up)
	}
}

// Two instances doing 100 operations at once make one login between them;
// after the session expires, one more between them.
func TestTwoInstancesShareOneLogin(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	a := fleet(t, apptest.Options{DB: apptest.OpenDB(t, url)})
	b := a.Second(apptest.OpenDB(t, url))
	for round, wantLogins := range []int{1, 2} {
		if round == 1 {
			a.Sim.ExpireSessions()
		}
		var wg sync.WaitGroup
		errs := make(chan error, 100)
		for i := range 100 {
			e := a
			if i%2 == 1 {
				e = b
			}
			wg.Go(func() {
				if _, err := e.App.Devices.List(ctx, member, apptest.Meta, "fleet", devices.Query{}); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if up := a.Sim.User(t, "fleet_uws"); up.LoginsOK != wantLogins || up.DeviceLists < 100*(round+1) {
			t.Fatalf("round %d, 100 operations on two instances: %+v", round, up)
		}
	}
}

// A lost answer is reported as unknown, with the device re-read, and the
// action is sent exactly once.
func TestLostAnswerIsUnknownAndNeverRetried(t *testing.T) {
	t.Parallel()
	e := fleet(t, apptest.Options{})
	id := active(t, e)
	if err := e.Sim.SetFaults("fleet_uws", tsim.Faults{DeviceActionFailAfter: true}); err != nil {
		t.Fatal(err)
	}
	res, err := e.App.Devices.Act(ctx, lead, apptest.Meta, "fleet", devices.Action{Op: models.OpSuspend, Devices: []models.DeviceID{id}})
	if err != nil || len(res) != 1 || res[0].Outcome != devices.Unknown {
		t.Fatalf("result %+v %v", res, err)
	}
	if res[0].Now == nil || !thingspace.SameState(res[0].Now.State, thingspace.StateSuspend) {
		t.Fatalf("the device was not re-read: %+v", res[0].Now)
	}
	if up := e.Sim.User(t, "fleet_uws"); up.DeviceActions != 1 {
		t.Fatalf("%d actions upstream, want exactly one", up.DeviceActions)
	}
}

// Bad input gets a clear error and nothing is sent upstream.
func TestBadInputSendsNothing(t *testing.T) {
	t.Parallel()
	e := fleet(t, apptest.Options{})
	id := active(t, e)
	before := e.Sim.User(t, "fleet_uws").Calls
	if _, err := models.ParseDeviceList("12345"); !errors.Is(err, models.ErrInvalid) {
		t.Errorf("malformed identifier: %v", err)
	}
	if _, err := models.ParseDeviceList(strings.Repeat("5551234567\n", models.MaxDevicesPerAction+1)); !errors.Is(err, models.ErrInvalid) {
		t.Errorf("huge list: %v", err)
	}
	for name, a := range map[string]devices.Action{
		"no device":         {Op: models.OpSuspend},
		"activate, no plan": {Op: models.OpActivate, Devices: []models.DeviceID{id}, ZIP: "94105"},
		"activate, no ZIP":  {Op: models.OpActivate, Devices: []models.DeviceID{id}, ServicePlan: "m2m4G"},
		"plan, no plan":     {Op: models.OpPlan, Devices: []models.DeviceID{id}},
		"no reason":         {Op: models.OpDeactivate, Devices: []models.DeviceID{id}, Confirm: id.ID},
		"two to deactivate": {Op: models.OpDeactivate, Devices: []models.DeviceID{id, {Kind: "mdn", ID: "5550000000"}}, ReasonCode: "FF"},
		"bad plan":          {Op: models.OpPlan, Devices: []models.DeviceID{id}, ServicePlan: "<script>"},
	} {
		_, err := e.App.Devices.Act(ctx, lead, apptest.Meta, "fleet", a)
		apptest.WantKind(t, err, models.ErrInvalid)
		_ = name
	}
	if _, err := e.App.Devices.List(ctx, member, apptest.Meta, "fleet", devices.Query{Q: "not-an-id"}); !errors.Is(err, models.ErrInvalid) {
		t.Errorf("bad search: %v", err)
	}
	if after := e.Sim.User(t, "fleet_uws").Calls; after != before {
		t.Fatalf("%d calls upstream for bad input", after-before)
	}
}

// Deactivating asks for the device's MDN or ICCID, typed; a wrong one
// sends no action.
func TestDeactivateNeedsTheTypedIdentifier(t *testing.T) {
	t.Parallel()
	e := fleet(t, apptest.Options{})
	id := active(t, e)
	a := devices.Action{Op: models.OpDeactivate, Devices: []models.DeviceID{id}, ReasonCode: "FF", Confirm: "5550001111"}
	if _, err := e.App.Devices.Act(ctx, lead, apptest.Meta, "fleet", a); !errors.Is(err, models.ErrInvalid) {
		t.Fatalf("a wrong confirmation: %v", err)
	}
	if up := e.Sim.User(t, "fleet_uws"); up.DeviceActions != 0 {
		t.Fatalf("an action was sent: %+v", up)
	}
	a.Confirm = id.ID
	res, err := e.App.Devices.Act(ctx, lead, apptest.Meta, "fleet", a)
	if err != nil || res[0].Outcome != devices.Accepted || !thingspace.SameState(upstreamState(t, e, id), thingspace.StateDeactive) {
		t.Fatalf("deactivate: %+v %v", res, err)
	}
}

// A quarantined credential blocks operations with no call upstream; an
// unconfigured account says so.
func TestUnusableCredentialBlocksOperations(t *testing.T) {
	t.Parallel()
	e := fleet(t, apptest.Options{})
	if _, err := e.DB.Pool.Exec(ctx, "UPDATE credentials SET state = 'quarantined'"); err != nil {
		t.Fatal(err)
	}
	_, err := e.App.Devices.List(ctx, member, apptest.Meta, "fleet", devices.Query{})
	apptest.WantKind(t, err, models.ErrConflict)
	if up := e.Sim.User(t, "fleet_uws"); up.LoginsOK+up.Calls != 0 {
		t.Fatalf("upstream was called: %+v", up)
	}
	e.SeedDept("noacct", models.ProtocolREST, false)
	if _, err := e.App.Devices.List(ctx, e.Admin, apptest.Meta, "noacct", devices.Query{}); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("no account: %v", err)
	}
}

// An admin edits the policy; it takes effect at once and is audited.
func TestPolicyEdit(t *testing.T) {
	t.Parallel()
	e := fleet(t, apptest.Options{})
	id := active(t, e)
	policy, err := devices.ParsePolicy([]string{"member:list", "member:suspend", "lead:list"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.App.Devices.SetPolicy(ctx, lead, apptest.Meta, "fleet", policy); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("a lead edited the policy: %v", err)
	}
	if err := e.App.Devices.SetPolicy(ctx, e.Admin, apptest.Meta, "fleet", policy); err != nil {
		t.Fatal(err)
	}
	if _, err := e.App.Devices.Act(ctx, member, apptest.Meta, "fleet", devices.Action{Op: models.OpSuspend, Devices: []models.DeviceID{id}}); err != nil {
		t.Fatalf("member suspends under the new policy: %v", err)
	}
	if _, err := e.App.Devices.Act(ctx, lead, apptest.Meta, "fleet", devices.Action{Op: models.OpRestore, Devices: []models.DeviceID{id}}); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("lead restores against the policy: %v", err)
	}
	if !slices.Contains(e.Events("fleet"), models.EvDevicePolicyChanged) {
		t.Fatal("the policy change was not audited")
	}
	if _, err := devices.ParsePolicy([]string{"auditor:list"}); !errors.Is(err, models.ErrInvalid) {
		t.Fatalf("an auditor in the policy: %v", err)
	}
}

// Issue 21, path 2: a device request in flight while a rotation completes,
// whose session then expires, logs in again with the password the
// credential holds now, never the one read when the request began: no
// failed login, no quarantine.
func TestRequestInFlightReloginsWithTheRotatedPassword(t *testing.T) {
	t.Parallel()
	e := fleet(t, apptest.Options{})
	if _, err := e.App.Devices.List(ctx, lead, apptest.Meta, "fleet", devices.Query{}); err != nil {
		t.Fatal(err) // a shared session exists now
	}
	held, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	e.Sim.SetHook(func(r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/devices/actions/list") {
			once.Do(func() { close(held); <-release })
		}
	})
	done := make(chan error, 1)
	go func() {
		_, err := e.App.Devices.List(ctx, lead, apptest.Meta, "fleet", devices.Query{})
		done <- err
	}()
	<-held // the list is at ThingSpace; the rotation runs meanwhile
	if res, err := e.App.Rotation.Rotate(ctx, e.Admin, apptest.Meta, "fleet", models.TriggerManual); err != nil || !res.Rotated() {
		t.Fatalf("rotate: %+v %v", res, err)
	}
	e.Sim.ExpireSessions()
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("the list in flight: %v", err)
	}
	if up := e.Sim.User(t, "fleet_uws"); up.LoginFailures != 0 {
		t.Fatalf("%d failed logins upstream: a re-login used the replaced password", up.LoginFailures)
	}
	if row := e.Row("fleet"); row.State != string(models.StateIdle) || row.ConsecutiveFailures != 0 {
		t.Fatalf("credential %s with %d failures", row.State, row.ConsecutiveFailures)
	}
}

// StateName runs for every row of every devices page: naming a state the
// way ThingSpace spells it must not allocate.
func TestStateNameAllocatesNothing(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _ = devices.StateName("deactive") }); n != 0 {
		t.Fatalf("devices.StateName allocates %v times per call", n)
	}
}
