package gateway_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/gateway"
	"github.com/uwsportal/uwsportal/models"
)

// An application switches to the portal by changing its base URL and its
// credentials: token, login, list, suspend, restore, logout, as Verizon
// documents them; ThingSpace's answers come back unchanged.
func TestDropInFlow(t *testing.T) {
	t.Parallel()
	p := newPortal(t, gateway.Limits{})
	made := p.client(t, "fleet", models.OpList, models.OpSuspend, models.OpRestore)
	app := p.app(t, made)
	tok := app.oauth()
	if tok.Status != http.StatusOK {
		t.Fatalf("token: %d %s\n%s", tok.Status, tok.Body, p.Logs.String())
	}
	m := tok.json(t)
	if m["token_type"] != "Bearer" || m["expires_in"] != float64(3600) || app.token == "" {
		t.Fatalf("token answer: %v", m)
	}
	if a := app.login(); a.Status != http.StatusOK || app.session == "" {
		t.Fatalf("login: %d %s", a.Status, a.Body)
	}
	mdn := activeMDN(t, app)
	a := app.act("suspend", account, mdn, nil)
	if a.Status != http.StatusOK || a.json(t)["requestId"] == "" {
		t.Fatalf("suspend: %d %s", a.Status, a.Body)
	}
	if st := p.state(t, mdn); !strings.HasPrefix(strings.ToLower(st), "suspend") {
		t.Fatalf("device is %q after the suspend", st)
	}
	if a := app.act("restore", account, mdn, nil); a.Status != http.StatusOK {
		t.Fatalf("restore: %d %s", a.Status, a.Body)
	}
	// ThingSpace's own refusal passes through unchanged.
	if a := app.act("restore", account, "0000000000", nil); a.Status != http.StatusBadRequest || !strings.HasPrefix(a.code(t), "UnifiedWebService.") {
		t.Fatalf("refused upstream: %d %s", a.Status, a.Body)
	}
	if a := app.do(http.MethodPost, "/api/m2m/v1/session/logout", nil, nil); a.Status != http.StatusOK {
		t.Fatalf("logout: %d %s", a.Status, a.Body)
	}
	if a := app.list(account); a.Status != http.StatusBadRequest || !strings.Contains(a.code(t), "SessionToken") {
		t.Fatalf("a call after logout: %d %s", a.Status, a.Body)
	}
	if got := p.Sim.User(t, "fleet_uws").LoginsOK; got != 1 {
		t.Fatalf("%d upstream logins, want 1", got)
	}
	calls := apptest.Only(p.Events("fleet"), "gateway.")
	if len(calls) < 6 {
		t.Fatalf("gateway events: %v", calls)
	}
	p.NoLeak(made.Secret, app.token, app.session)
	// The audit page filters by client: its actor, and its ID in the text.
	for _, f := range []models.AuditFilter{{Actor: "api-client:" + made.Client.ID}, {Text: made.Client.ID, CodePrefix: "gateway.call"}} {
		page, err := p.App.Audit.SearchAudit(ctx, p.Admin, f)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) < 3 {
			t.Fatalf("filter %+v found %d events", f, len(page.Events))
		}
		for _, e := range page.Events {
			// The upstream login the first call made is attributed to it too.
			mine := e.Actor == "api-client:"+made.Client.ID && (e.Detail["client_id"] == made.Client.ID || e.Code == models.EvUpstreamLoginOK)
			if !mine || e.Department != "fleet" {
				t.Fatalf("filter %+v found another client's event: %+v", f, e)
			}
		}
	}
}

// Scopes: allowed, refused, and a password reset always refused.
func TestScopes(t *testing.T) {
	t.Parallel()
	p := newPortal(t, gateway.Limits{})
	reader := p.app(t, p.client(t, "fleet", models.OpList)).start()
	all := p.app(t, p.client(t, "fleet", models.Operations...)).start()
	mdn := activeMDN(t, reader)
	before := p.Sim.User(t, "fleet_uws")
	if a := reader.act("suspend", account, mdn, nil); a.Status != http.StatusForbidden || a.code(t) != "UnifiedWebService.REQUEST_FAILED.OperationNotAllowed" {
		t.Fatalf("suspend without the scope: %d %s", a.Status, a.Body)
	}
	for _, c := range []*vz{reader, all} {
		a := c.do(http.MethodPut, "/api/m2m/v1/session/password/actions/reset", map[string]string{"oldPassword": apptest.GoodPW}, nil)
		if a.Status != http.StatusForbidden || a.code(t) != "UnifiedWebService.REQUEST_FAILED.Forbidden" {
			t.Fatalf("reset: %d %s", a.Status, a.Body)
		}
	}
	after := p.Sim.User(t, "fleet_uws")
	if after.DeviceActions != before.DeviceActions || after.ResetsApplied+after.ResetsRejected != 0 || after.Calls != before.Calls {
		t.Fatalf("a refused call reached ThingSpace: %+v → %+v", before, after)
	}
	if a := all.act("suspend", account, mdn, nil); a.Status != http.StatusOK {
		t.Fatalf("suspend with the scope: %d %s", a.Status, a.Body)
	}
	// A lead may not give a client more than the policy lets them do.
	lead := &models.Principal{UserID: 30, Actor: "30", Name: "Lee", Grants: []models.Grant{{Role: models.RoleLead, Department: "fleet"}}}
	if err := p.App.Devices.SetPolicy(ctx, p.Admin, apptest.Meta, "fleet", models.DevicePolicy{models.RoleLead: {models.OpList}}); err != nil {
		t.Fatal(err)
	}
	_, err := p.App.Gateway.Create(ctx, lead, apptest.Meta, "fleet", gateway.CreateInput{Name: "x", Owner: "A <a@example.com>", Operations: []models.Operation{models.OpSuspend}})
	apptest.WantKind(t, err, models.ErrForbidden)
	if _, err := p.App.Gateway.Create(ctx, lead, apptest.Meta, "beta", gateway.CreateInput{Name: "x", Owner: "A <a@example.com>", Operations: []models.Operation{models.OpList}}); err == nil {
		t.Fatal("a lead created a client for another department")
	}
}

// Revoking, an expired client and an expired token cut off the next call.
func TestRevokeAndExpiryCutOffTheNextCall(t *testing.T) {
	t.Parallel()
	p := newPortal(t, gateway.Limits{})
	made := p.client(t, "fleet", models.OpList)
	app := p.app(t, made).start()
	if a := app.list(account); a.Status != http.StatusOK && a.Status != http.StatusAccepted {
		t.Fatalf("list: %d %s", a.Status, a.Body)
	}
	if err := p.App.Gateway.Revoke(ctx, p.Admin, apptest.Meta, "fleet", made.Client.ID); err != nil {
		t.Fatal(err)
	}
	if a := app.list(account); a.Status != http.StatusUnauthorized || a.code(t) != "fault:900901" {
		t.Fatalf("after revoke: %d %s", a.Status, a.Body)
	}
	if a := app.oauth(); a.Status != http.StatusUnauthorized {
		t.Fatalf("token after revoke: %d %s", a.Status, a.Body)
	}

	// The bearer token lives an hour.
	app2 := p.app(t, p.client(t, "fleet", models.OpList)).start()
	p.Clock.Advance(61 * time.Minute)
	if a := app2.list(account); a.Status != http.StatusUnauthorized || a.code(t) != "fault:900901" {
		t.Fatalf("an expired token: %d %s", a.Status, a.Body)
	}
	// The client itself expires (default 90 days).
	p.Clock.Advance(91 * 24 * time.Hour)
	if a := app2.oauth(); a.Status != http.StatusUnauthorized {
		t.Fatalf("an expired client got a token: %d %s", a.Status, a.Body)
	}
}

// Rotating a secret: the old one works during the overlap only.
func TestRotateSecretOverlap(t *testing.T) {
	t.Parallel()
	p := newPortal(t, gateway.Limits{})
	made := p.client(t, "fleet", models.OpList)
	rot, err := p.App.Gateway.RotateSecret(ctx, p.Admin, apptest.Meta, "fleet", made.Client.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	old, fresh := p.app(t, made), p.app(t, rot)
	if a := old.oauth(); a.Status != http.StatusOK {
		t.Fatalf("old secret within the overlap: %d", a.Status)
	}
	if a := fresh.oauth(); a.Status != http.StatusOK {
		t.Fatalf("new secret: %d", a.Status)
	}
	p.Clock.Advance(time.Hour + time.Second)
	if a := old.oauth(); a.Status != http.StatusUnauthorized {
		t.Fatalf("old secret after the overlap: %d", a.Status)
	}
	if _, err := p.App.Gateway.RotateSecret(ctx, p.Admin, apptest.Meta, "fleet", made.Client.ID, 25*time.Hour); err == nil {
		t.Fatal("an overlap over 24 hours was accepted")
	}
}

// A token or handle of client A never works for B, nor for another
// department's account.
func TestClientsAreKeptApart(t *testing.T) {
	t.Parallel()
	p := newPortal(t, gateway.Limits{})
	a := p.app(t, p.client(t, "fleet", models.OpList)).start()
	b := p.app(t, p.client(t, "fleet", models.OpList)).start()
	c := p.app(t, p.client(t, "beta", models.OpList)).start()
	mixed := *b
	mixed.session = a.session
	if r := mixed.list(account); r.Status != http.StatusBadRequest || !strings.Contains(r.code(t), "SessionToken") {
		t.Fatalf("B's bearer with A's handle: %d %s", r.Status, r.Body)
	}
	// A's bearer logging in as B.
	asB := *a
	asB.username, asB.password = b.username, b.password
	if r := asB.login(); r.Status != http.StatusBadRequest {
		t.Fatalf("A's token logged in as B: %d %s", r.Status, r.Body)
	}
	if r := c.list(account); r.Status != http.StatusForbidden || r.code(t) != "UnifiedWebService.REQUEST_FAILED.AccountNotAllowed" {
		t.Fatalf("beta's client listed fleet's account: %d %s", r.Status, r.Body)
	}
	// A case-variant key must not smuggle another account past the check.
	r := a.do(http.MethodPost, "/api/m2m/v1/devices/actions/list", map[string]any{"accountName": account, "AccountName": other}, nil)
	if r.Status != http.StatusForbidden {
		t.Fatalf("a case-variant accountName: %d %s", r.Status, r.Body)
	}
	if r := c.list(other); r.Status != http.StatusOK && r.Status != http.StatusAccepted {
		t.Fatalf("beta's own account: %d %s", r.Status, r.Body)
	}
}

// Where a department wants a second person's approval for deactivate, an
// application cannot obtain one: the gateway refuses deactivate, sending
// nothing upstream, and still lets the client do its other operations.
func TestDualControlRefusesDeactivate(t *testing.T) {
	t.Parallel()
	p := newPortal(t, gateway.Limits{})
	c := p.app(t, p.client(t, "fleet", models.Operations...)).start()
	mdn := activeMDN(t, c)
	if err := p.App.Departments.SetApprovals(ctx, p.Admin, apptest.Meta, "fleet", models.ApprovalRules{Deactivate: true}); err != nil {
		t.Fatal(err)
	}
	before := p.Sim.User(t, "fleet_uws")
	if a := c.act("deactivate", account, mdn, nil); a.Status != http.StatusForbidden || a.code(t) != "UnifiedWebService.REQUEST_FAILED.ApprovalRequired" {
		t.Fatalf("deactivate under dual control: %d %s", a.Status, a.Body)
	}
	if after := p.Sim.User(t, "fleet_uws"); after.DeviceActions != before.DeviceActions || p.state(t, mdn) != "active" {
		t.Fatal("a refused deactivate reached ThingSpace")
	}
	if a := c.act("suspend", account, mdn, nil); a.Status != http.StatusOK {
		t.Fatalf("suspend under dual control for deactivate: %d %s", a.Status, a.Body)
	}
}
