package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// An admin sets a department's gateway ceiling on the API clients page;
// its lead sees it and cannot change it; a bad value is refused.
func TestGatewayCeilingForm(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testdb.New(t), nil)
	seedDemoMappings(t, ts)
	admin := ts.client(t, models.Grant{Role: models.RoleAdmin})
	lead := ts.client(t, models.Grant{Role: models.RoleLead, Department: "fleet"})
	_, body := do(t, lead, http.MethodGet, ts.URL+"/departments/fleet/api-clients", nil)
	if !strings.Contains(body, "at most 25 calls per second") || strings.Contains(body, `id="gateway-ceiling-form"`) {
		t.Fatalf("the lead's page: %.2000s", body)
	}
	if res, _ := ts.post(t, lead, "/departments/fleet/api-clients/ceiling", url.Values{"per_second": {"500"}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a lead set the ceiling: %d", res.StatusCode)
	}
	// A mistake is shown beside the field, what was typed kept (422).
	for _, typed := range []string{"5000", "fast"} {
		res, body := ts.post(t, admin, "/departments/fleet/api-clients/ceiling", url.Values{"per_second": {typed}})
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="error-per_second"`) || !strings.Contains(body, `value="`+typed+`"`) {
			t.Fatalf("a ceiling of %s: %d %.2000s", typed, res.StatusCode, body)
		}
	}
	if res, _ := ts.post(t, admin, "/departments/fleet/api-clients/ceiling", url.Values{"per_second": {"2.5"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("set: %d", res.StatusCode)
	}
	_, body = do(t, admin, http.MethodGet, ts.URL+"/departments/fleet/api-clients", nil)
	if !strings.Contains(body, "at most 2.5 calls per second") || !strings.Contains(body, `id="gateway-ceiling-form"`) {
		t.Fatalf("the admin's page: %.2000s", body)
	}
	if evs := strings.Join(ts.events(t), " "); !strings.Contains(evs, models.EvDepartmentUpdated) {
		t.Fatalf("the change was not audited: %s", evs)
	}
}
