package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/departments"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/internal/tsim"
	"github.com/uwsportal/uwsportal/models"
)

// maxDevicesPageTrips bounds the database round trips of a devices page
// for a signed-in person whose session and upstream session are warm: the
// session with its person, the department with its policy, credential and
// shared session, the audit's group commit (it knows the chain's head),
// the recent requests and the approvals badge.
const maxDevicesPageTrips = 5

// wiredDevicesServer is devicesServer with the portal's database counting
// its round trips.
func wiredDevicesServer(t *testing.T) (*testServer, *store.RoundTrips, *http.Client, *tsim.Server) {
	t.Helper()
	const account, user, pw = "0000123456-00001", "fleet_uws", "Corr3ct-Horse!Battery"
	sim := tsim.New(tsim.Options{AppKey: "k", AppSecret: "s"})
	sim.SetUser(user, pw)
	sim.SeedDevices(account, 30, 5)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	ts, wire := newWiredTestServer(t, testdb.New(t), map[string]string{"THINGSPACE_URL": srv.URL, "THINGSPACE_APP_KEY": "k", "THINGSPACE_APP_SECRET": "s"})
	ctx := context.Background()
	admin := &models.Principal{Actor: "cli:test", Name: "test", Grants: []models.Grant{{Role: models.RoleAdmin}}}
	if _, err := ts.creds.CreateDepartment(ctx, admin, models.RequestMeta{}, models.Department{Slug: "fleet", Name: "Fleet",
		Protocol: models.ProtocolREST, MaxAgeDays: 90, AccountName: account}); err != nil {
		t.Fatal(err)
	}
	if err := ts.creds.SetCredential(ctx, admin, models.RequestMeta{}, departments.CredentialInput{Department: "fleet", Username: user, Password: pw}); err != nil {
		t.Fatal(err)
	}
	return ts, wire, ts.client(t, models.Grant{Role: models.RoleLead, Department: "fleet"}), sim
}

// devicesPageOf asks for fleet's devices page as lead and checks it came
// with its actions.
func devicesPageOf(t *testing.T, ts *testServer, lead *http.Client) func() {
	return func() {
		t.Helper()
		res, body := do(t, lead, http.MethodGet, ts.URL+"/departments/fleet/devices", nil)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "act-suspend") {
			t.Fatalf("devices page: %d %.300s", res.StatusCode, body)
		}
	}
}

// A devices page in steady state (session and upstream session warm) makes
// at most maxDevicesPageTrips database round trips, the durable audit of
// the list among them.
func TestDevicesPageRoundTrips(t *testing.T) {
	t.Parallel()
	ts, wire, lead, sim := wiredDevicesServer(t)
	page := devicesPageOf(t, ts, lead)
	page() // warms the session, the upstream session and the statement caches
	page()
	before := len(ts.events(t))
	var trips []string
	for _, trip := range wire.Count(page) {
		// A statement is prepared once per pooled connection: not the
		// page's cost.
		if !strings.HasPrefix(trip, "prepare: ") {
			trips = append(trips, trip)
		}
	}
	if len(trips) > maxDevicesPageTrips {
		t.Errorf("a devices page made %d database round trips, more than %d:\n%s", len(trips), maxDevicesPageTrips, strings.Join(trips, "\n"))
	}
	if after := ts.events(t); len(after) != before+1 || after[len(after)-1] != models.EvDeviceList {
		t.Fatalf("the page was not audited once as device.list: %v", after[before:])
	}
	// The shared session read ahead never costs a login: one for them all.
	if up, _ := sim.User("fleet_uws"); up.LoginsOK != 1 {
		t.Fatalf("%d upstream logins for three pages", up.LoginsOK)
	}
}

// The page is prepared while the list's audit commits, but answered only
// once the audit is durable: when the audit cannot be written, no device
// is shown.
func TestDevicesPageIsNotAnsweredWithoutItsAudit(t *testing.T) {
	t.Parallel()
	ts, _, lead, _ := wiredDevicesServer(t)
	ctx := context.Background()
	_, err := ts.DB.Pool.Exec(ctx, `CREATE FUNCTION refuse_device_list() RETURNS trigger LANGUAGE plpgsql AS
	  $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
	  CREATE TRIGGER refuse_device_list BEFORE INSERT ON audit_events FOR EACH ROW
	  WHEN (NEW.code = 'device.list') EXECUTE FUNCTION refuse_device_list()`)
	if err != nil {
		t.Fatal(err)
	}
	res, body := do(t, lead, http.MethodGet, ts.URL+"/departments/fleet/devices", nil)
	if res.StatusCode < 500 || strings.Contains(body, "act-suspend") {
		t.Fatalf("a devices page whose audit failed was answered: %d %.300s", res.StatusCode, body)
	}
}

// The page's department read needs only the slug in its path: it goes out
// beside the session's read, not after it. The session's read is held
// back until the department's is sent; were the department read only once
// the session is known, it would come after (the hold gives up at 5 s).
func TestDevicesPageReadsItsDepartmentBesideTheSession(t *testing.T) {
	t.Parallel()
	ts, wire, lead, _ := wiredDevicesServer(t)
	page := devicesPageOf(t, ts, lead)
	page() // warms the session, the upstream session and the statement caches
	wire.HoldUntil("FROM (VALUES (1)) AS one", "COALESCE(c.password_changed_at, 'epoch')")
	sent := wire.Count(page)
	// What is noted is each statement's first words.
	session := slices.IndexFunc(sent, func(s string) bool { return strings.HasPrefix(s, "SELECT s.data, p.id") })
	dept := slices.IndexFunc(sent, func(s string) bool { return strings.HasPrefix(s, "SELECT COALESCE(c.id, 0), COALESCE(c.username") })
	if session < 0 || dept < 0 || dept > session {
		t.Fatalf("the department's read (at %d) did not go out before the session's was answered (at %d):\n%s", dept, session, strings.Join(sent, "\n"))
	}
}
