package web

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/departments"
	"github.com/uwsportal/uwsportal/internal/devices"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/internal/tsim"
	"github.com/uwsportal/uwsportal/models"
)

var refreshTo = regexp.MustCompile(`<meta http-equiv="refresh" content="(\d+);url=([^"]+)"`)

// fleetDepartment creates the department fleet with its credential, and
// returns the admin who did.
func fleetDepartment(t *testing.T, ts *testServer, account, user string, pw secret.Secret) *models.Principal {
	t.Helper()
	ctx := context.Background()
	admin := &models.Principal{Actor: "cli:test", Name: "test", Grants: []models.Grant{{Role: models.RoleAdmin}}}
	if _, err := ts.creds.CreateDepartment(ctx, admin, models.RequestMeta{}, models.Department{Slug: "fleet", Name: "Fleet",
		Protocol: models.ProtocolREST, MaxAgeDays: 90, AccountName: account}); err != nil {
		t.Fatal(err)
	}
	if err := ts.creds.SetCredential(ctx, admin, models.RequestMeta{}, departments.CredentialInput{Department: "fleet", Username: user, Password: pw}); err != nil {
		t.Fatal(err)
	}
	return admin
}

// A person's suspend goes pending → done on pages that reload themselves
// (a meta refresh: no JavaScript needed, nothing the CSP forbids), the
// outcome arriving through the portal's own callback listener.
func TestSuspendPendingThenDoneOnThePages(t *testing.T) {
	t.Parallel()
	const account, user, pw = "0000123456-00001", "fleet_uws", "Corr3ct-Horse!Battery"
	sim := tsim.New(tsim.Options{AppKey: "k", AppSecret: "s"})
	sim.SetUser(user, pw)
	sim.SeedDevices(account, 10, 5)
	sim.SetAsync(tsim.AsyncOptions{Delay: 20 * time.Millisecond, Retry: 10 * time.Millisecond})
	up := httptest.NewServer(sim)
	t.Cleanup(up.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	ts := newTestServerAt(t, testdb.New(t), map[string]string{"THINGSPACE_URL": up.URL, "THINGSPACE_APP_KEY": "k", "THINGSPACE_APP_SECRET": "s",
		"UWSPORTAL_CALLBACK_URL": "http://" + addr}, addr)
	ctx := context.Background()
	admin := fleetDepartment(t, ts, account, user, pw)
	adminBrowser := ts.client(t, models.Grant{Role: models.RoleAdmin})
	if res, body := ts.post(t, adminBrowser, "/departments/fleet/callbacks", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("register: %d %.300s", res.StatusCode, body)
	}
	if ls := sim.Listeners(account); len(ls) != 1 || ls[0].URL != "http://"+addr+"/callbacks/thingspace" {
		t.Fatalf("ThingSpace lists %+v", ls)
	}
	if res, body := do(t, adminBrowser, http.MethodGet, ts.URL+"/departments/fleet", nil); res.StatusCode != http.StatusOK || !strings.Contains(body, "callbacks-deregister") {
		t.Fatalf("department page: %d, no listener panel", res.StatusCode)
	}
	page, err := ts.devices.List(ctx, admin, models.RequestMeta{}, "fleet", devices.Query{State: "active"})
	if err != nil || len(page.Devices) == 0 {
		t.Fatalf("no active device: %v", err)
	}
	iccid := page.Devices[0].ID("iccid")
	lead := ts.client(t, models.Grant{Role: models.RoleLead, Department: "fleet"})
	res, body := ts.post(t, lead, "/departments/fleet/devices/suspend", url.Values{"id": {"iccid:" + iccid}})
	m := refreshTo.FindStringSubmatch(body)
	if res.StatusCode != http.StatusOK || m == nil || !strings.HasPrefix(m[2], "/departments/fleet/requests?ids=") {
		t.Fatalf("results page: %d, refresh %v: %.400s", res.StatusCode, m, body)
	}
	// The state follows the request: queued first, suspended once done.
	if !strings.Contains(body, `<td class="state-now">Suspend queued: not done yet</td>`) {
		t.Fatalf("results page, state now: %.1500s", body)
	}
	sim.Wait()
	res, body = do(t, lead, http.MethodGet, ts.URL+m[2], nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `data-status="succeeded"`) || strings.Contains(body, `http-equiv="refresh"`) ||
		!strings.Contains(body, `<td class="state-now">Suspended</td>`) || !strings.Contains(body, "ICCID "+iccid) {
		t.Fatalf("followed requests: %d %.1500s", res.StatusCode, body)
	}
	if _, body = do(t, lead, http.MethodGet, ts.URL+"/departments/fleet/requests?device=iccid:"+iccid, nil); strings.Count(body, `data-status="succeeded"`) != 1 {
		t.Fatalf("the device's requests: %.600s", body)
	}
	if d, _ := sim.Device(account, iccid); d.State() != "suspend" {
		t.Fatalf("device is %s", d.State())
	}
	// A failure shows with ThingSpace's fault, and on the dashboard.
	sim.FailNext(account, "Line locked by the carrier.")
	ts.post(t, lead, "/departments/fleet/devices/restore", url.Values{"id": {"iccid:" + iccid}})
	sim.Wait()
	if res, body = do(t, lead, http.MethodGet, ts.URL+"/departments/fleet/requests", nil); !strings.Contains(body, `data-status="failed"`) || !strings.Contains(body, "Line locked by the carrier.") ||
		!strings.Contains(body, `<td class="state-now">Unchanged</td>`) {
		t.Fatalf("requests page: %d %.600s", res.StatusCode, body)
	}
	if res, body = do(t, lead, http.MethodGet, ts.URL+"/", nil); !strings.Contains(body, "1 device requests failed") {
		t.Fatalf("dashboard: %d %.600s", res.StatusCode, body)
	}
	if res, body = do(t, lead, http.MethodGet, ts.URL+"/departments/fleet/devices", nil); !strings.Contains(body, "recent-requests") {
		t.Fatalf("devices page: %d, no requests panel", res.StatusCode)
	}
	// Another department's lead sees none of it.
	other := ts.client(t, models.Grant{Role: models.RoleLead, Department: "beta"})
	if res, _ = do(t, other, http.MethodGet, ts.URL+"/departments/fleet/requests", nil); res.StatusCode != http.StatusForbidden {
		t.Fatalf("another department's lead: %d", res.StatusCode)
	}
}
