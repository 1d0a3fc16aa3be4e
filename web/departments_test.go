package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/internal/tsim"
	"github.com/uwsportal/uwsportal/models"
)

const fleetUser = "fleet_ops_mycompanyUWS"
const fleetPassword = "Wq7#mZ2!pLx9vK4r"

// newTSimServer is a portal against a ThingSpace simulator with the fleet
// user, the demo departments and mappings.
func newTSimServer(t *testing.T) (*testServer, *tsim.Server) {
	t.Helper()
	sim := tsim.New(tsim.Options{AppKey: "k", AppSecret: "s", Users: map[string]string{fleetUser: fleetPassword}})
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	ts := newTestServer(t, testdb.New(t), map[string]string{"THINGSPACE_URL": hs.URL, "THINGSPACE_SOAP_URL": hs.URL + "/api/v2/SessionService.svc",
		"THINGSPACE_APP_KEY": "k", "THINGSPACE_APP_SECRET": "s"})
	seedDemoMappings(t, ts)
	return ts, sim
}

func TestAdminOnboardsAndLeadRotatesOverHTTP(t *testing.T) {
	t.Parallel()
	ts, sim := newTSimServer(t)
	admin := ts.client(t, models.Grant{Role: models.RoleAdmin})
	lead := ts.client(t, models.Grant{Role: models.RoleLead, Department: "fleet"})

	res, body := ts.post(t, admin, "/departments/fleet/credential", url.Values{"username": {fleetUser}, "password": {fleetPassword}, "verify": {"on"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("set credential: %d %.300s", res.StatusCode, body)
	}
	if res, body := do(t, lead, http.MethodGet, ts.URL+"/departments/fleet/rotate", nil); res.StatusCode != 200 || !strings.Contains(body, "Every application that uses this UWS username") {
		t.Fatalf("confirmation page: %d", res.StatusCode)
	}
	res, _ = ts.post(t, lead, "/departments/fleet/rotate", nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("rotate: %d", res.StatusCode)
	}
	if done := followRotation(t, ts, lead, res); !strings.Contains(done, "rotated and verified") {
		t.Fatalf("progress page at the end: %.2000s", done)
	}
	_, body = do(t, lead, http.MethodGet, ts.URL+"/departments/fleet", nil)
	if !strings.Contains(body, ">rotated<") {
		t.Fatalf("department page after rotation: %.2000s", body)
	}
	c, _ := sim.User(fleetUser)
	if c.Password == fleetPassword || c.ResetsApplied != 1 || c.Locked {
		t.Fatalf("simulator: %+v", c)
	}
	if strings.Contains(body, c.Password) || strings.Contains(ts.Logs.String(), c.Password) || strings.Contains(ts.Logs.String(), fleetPassword) {
		t.Fatal("a password reached a page or the log")
	}
	// The lead of another department may not rotate fleet: 403 and audited.
	other := ts.client(t, models.Grant{Role: models.RoleLead, Department: "field-ops"})
	if res, _ := ts.post(t, other, "/departments/fleet/rotate", nil); res.StatusCode != http.StatusForbidden {
		t.Fatalf("lead of B: %d", res.StatusCode)
	}
	// A member sees the status but no Rotate button, and a forged POST is refused.
	member := ts.client(t, models.Grant{Role: models.RoleMember, Department: "fleet"})
	_, body = do(t, member, http.MethodGet, ts.URL+"/departments/fleet", nil)
	if !strings.Contains(body, "credential-status") || strings.Contains(body, `id="rotate"`) {
		t.Fatal("member page: status missing or Rotate shown")
	}
	if res, _ := ts.post(t, member, "/departments/fleet/rotate", nil); res.StatusCode != http.StatusForbidden {
		t.Fatalf("member forged POST: %d", res.StatusCode)
	}
	if c2, _ := sim.User(fleetUser); c2.ResetsApplied != 1 {
		t.Fatalf("a refused rotation reached ThingSpace: %+v", c2)
	}
	evs := strings.Join(ts.events(t), " ")
	for _, code := range []string{models.EvCredentialCreated, models.EvRotateStarted, models.EvRotateApplied, models.EvRotateVerified, models.EvAccessDenied} {
		if !strings.Contains(evs, code) {
			t.Errorf("missing %s", code)
		}
	}
}

func TestBadDepartmentInputChangesNothing(t *testing.T) {
	t.Parallel()
	ts, sim := newTSimServer(t)
	admin := ts.client(t, models.Grant{Role: models.RoleAdmin})
	before := len(ts.events(t))
	cases := []struct {
		path string
		form url.Values
		want string
	}{
		{"/departments", url.Values{"slug": {""}, "name": {"X"}}, "slug"},
		{"/departments", url.Values{"slug": {"Bad Slug!"}, "name": {"X"}}, "slug"},
		{"/departments", url.Values{"slug": {"ok"}, "name": {strings.Repeat("n", 5000)}}, "name"},
		{"/departments", url.Values{"slug": {"ok"}, "name": {"X"}, "max_age_days": {"abc"}}, "maximum age"},
		{"/departments", url.Values{"slug": {"fleet"}, "name": {"Again"}}, "already exists"},
		{"/departments/fleet/credential", url.Values{"username": {""}, "password": {fleetPassword}}, "username"},
		{"/departments/fleet/credential", url.Values{"username": {fleetUser}, "password": {"password"}}, "upper-case"},
		{"/departments/fleet/credential", url.Values{"username": {fleetUser}, "password": {"Abcd12345!xy"}}, "sequence"},
		{"/departments/fleet/credential", url.Values{"username": {strings.Repeat("u", 300)}, "password": {fleetPassword}}, "username"},
		{"/departments/fleet/schedule", url.Values{"enabled": {"on"}, "max_age_days": {"0"}}, "maximum age"},
	}
	for _, tc := range cases {
		res, body := ts.post(t, admin, tc.path, tc.form)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(strings.ToLower(body), strings.ToLower(tc.want)) {
			t.Errorf("%s %v: %d, want a message about %q", tc.path, tc.form, res.StatusCode, tc.want)
		}
		if strings.Contains(body, "Abcd12345!xy") {
			t.Errorf("a rejected password was echoed")
		}
	}
	if res, _ := ts.post(t, admin, "/departments/nope/credential", url.Values{"username": {fleetUser}, "password": {fleetPassword}}); res.StatusCode != 404 {
		t.Errorf("unknown department: %d", res.StatusCode)
	}
	if after := len(ts.events(t)); after != before {
		t.Fatalf("bad input wrote %d audit events", after-before)
	}
	var n int
	if err := ts.DB.Pool.QueryRow(context.Background(), "SELECT count(*) FROM credentials").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if c, _ := sim.User(fleetUser); n != 0 || c.LoginsOK+c.LoginFailures != 0 {
		t.Fatalf("bad input changed something: %d credentials, simulator %+v", n, c)
	}
}

func TestRevealIsAuditedWithItsReason(t *testing.T) {
	t.Parallel()
	ts, _ := newTSimServer(t)
	admin := ts.client(t, models.Grant{Role: models.RoleAdmin})
	ts.post(t, admin, "/departments/fleet/credential", url.Values{"username": {fleetUser}, "password": {fleetPassword}})
	lead := ts.client(t, models.Grant{Role: models.RoleLead, Department: "fleet"})
	if res, _ := ts.post(t, lead, "/departments/fleet/reveal", url.Values{"reason": {"incident 42"}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("reveal while not allowed: %d", res.StatusCode)
	}
	ts.post(t, admin, "/departments/fleet/settings", url.Values{"name": {"Fleet"}, "protocol": {"rest"}, "reveal_allowed": {"on"}})
	if res, body := ts.post(t, lead, "/departments/fleet/reveal", url.Values{"reason": {""}}); res.StatusCode != http.StatusUnprocessableEntity || strings.Contains(body, fleetPassword) {
		t.Fatalf("reveal without a reason: %d", res.StatusCode)
	}
	res, body := ts.post(t, lead, "/departments/fleet/reveal", url.Values{"reason": {"incident 42"}})
	if res.StatusCode != 200 || !strings.Contains(body, fleetPassword) || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("reveal: %d %v", res.StatusCode, res.Header)
	}
	var reason string
	if err := ts.DB.Pool.QueryRow(context.Background(), "SELECT detail->>'reason' FROM audit_events WHERE code = $1", models.EvCredentialRevealed).Scan(&reason); err != nil {
		t.Fatal(err)
	}
	if reason != "incident 42" {
		t.Fatalf("reveal reason audited as %q", reason)
	}
}
