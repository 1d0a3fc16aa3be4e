package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/devices"

	"github.com/uwsportal/uwsportal/internal/departments"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/internal/tsim"
	"github.com/uwsportal/uwsportal/models"
)

// devicesServer is a portal whose department fleet has a credential, an
// account and devices on a simulator, with a lead's browser.
func devicesServer(t *testing.T) (*testServer, *tsim.Server, *http.Client) {
	t.Helper()
	const account, user, pw = "0000123456-00001", "fleet_uws", "Corr3ct-Horse!Battery"
	sim := tsim.New(tsim.Options{AppKey: "k", AppSecret: "s"})
	sim.SetUser(user, pw)
	sim.SeedDevices(account, 30, 5)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	ts := newTestServer(t, testdb.New(t), map[string]string{"THINGSPACE_URL": srv.URL, "THINGSPACE_APP_KEY": "k", "THINGSPACE_APP_SECRET": "s"})
	ctx := context.Background()
	admin := &models.Principal{Actor: "cli:test", Name: "test", Grants: []models.Grant{{Role: models.RoleAdmin}}}
	if _, err := ts.creds.CreateDepartment(ctx, admin, models.RequestMeta{}, models.Department{Slug: "fleet", Name: "Fleet",
		Protocol: models.ProtocolREST, MaxAgeDays: 90, AccountName: account}); err != nil {
		t.Fatal(err)
	}
	if err := ts.creds.SetCredential(ctx, admin, models.RequestMeta{}, departments.CredentialInput{Department: "fleet", Username: user, Password: pw}); err != nil {
		t.Fatal(err)
	}
	return ts, sim, ts.client(t, models.Grant{Role: models.RoleLead, Department: "fleet"})
}

// Each action is a form on its own URL, behind a confirmation page that
// sends nothing upstream; the POST needs the session's CSRF token.
func TestDeviceActionsConfirmAndNeedCSRF(t *testing.T) {
	t.Parallel()
	ts, sim, lead := devicesServer(t)
	admin := &models.Principal{Actor: "cli:test", Name: "test", Grants: []models.Grant{{Role: models.RoleAdmin}}}
	page, err := ts.devices.List(context.Background(), admin, models.RequestMeta{}, "fleet", devices.Query{State: "active"})
	if err != nil || len(page.Devices) == 0 {
		t.Fatalf("no active device: %v", err)
	}
	iccid := page.Devices[0].ID("iccid")
	before, _ := sim.User("fleet_uws")
	res, body := do(t, lead, http.MethodGet, ts.URL+"/departments/fleet/devices/suspend?id=iccid:"+iccid, nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, iccid) || !strings.Contains(body, "confirm-go") {
		t.Fatalf("confirmation: %d %.300s", res.StatusCode, body)
	}
	if after, _ := sim.User("fleet_uws"); after.Calls != before.Calls || after.LoginsOK != before.LoginsOK {
		t.Fatalf("the confirmation page called ThingSpace: %+v → %+v", before, after)
	}
	// Without the CSRF token: refused, nothing sent.
	res, _ = do(t, lead, http.MethodPost, ts.URL+"/departments/fleet/devices/suspend", url.Values{"id": {"iccid:" + iccid}})
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("a POST without CSRF token: %d", res.StatusCode)
	}
	if d, _ := sim.Device("0000123456-00001", iccid); d.State() != "active" {
		t.Fatalf("the device changed without a CSRF token: %s", d.State())
	}
	res, body = ts.post(t, lead, "/departments/fleet/devices/suspend", url.Values{"id": {"iccid:" + iccid}})
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "accepted") {
		t.Fatalf("suspend: %d %.300s", res.StatusCode, body)
	}
	if d, _ := sim.Device("0000123456-00001", iccid); d.State() != "suspend" {
		t.Fatalf("after suspend the device is %s", d.State())
	}
	// Deactivate without the typed identifier: the confirmation again, the
	// message beside the field, what was typed kept (422).
	res, body = ts.post(t, lead, "/departments/fleet/devices/deactivate", url.Values{"id": {"iccid:" + iccid}, "reason_code": {"XY"}, "confirm": {"1"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "type the device") || !strings.Contains(body, `id="error-confirm"`) ||
		!strings.Contains(body, `value="XY"`) || !strings.Contains(body, `id="confirm-form"`) {
		t.Fatalf("deactivate without the typed identifier: %d %.2000s", res.StatusCode, body)
	}
}

// Each row links to the device's history in the audit trail and to its
// requests, with the identifier escaped as a query value.
func TestDeviceRowsLinkToHistoryAndRequests(t *testing.T) {
	t.Parallel()
	ts, _, lead := devicesServer(t)
	admin := &models.Principal{Actor: "cli:test", Name: "test", Grants: []models.Grant{{Role: models.RoleAdmin}}}
	page, err := ts.devices.List(context.Background(), admin, models.RequestMeta{}, "fleet", devices.Query{})
	if err != nil || len(page.Devices) == 0 {
		t.Fatalf("no device: %v", err)
	}
	key := page.Devices[0].Primary()
	res, body := do(t, lead, http.MethodGet, ts.URL+"/departments/fleet/devices", nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("devices page: %d", res.StatusCode)
	}
	for _, want := range []string{
		`href="/audit?department=fleet&amp;q=` + key.ID + `"`,
		`href="/departments/fleet/requests?device=` + key.Kind + `%3a` + key.ID + `"`,
	} {
		if !strings.Contains(strings.ToLower(body), strings.ToLower(want)) {
			t.Errorf("the page has no link %s", want)
		}
	}
}
