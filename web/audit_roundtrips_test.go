package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// maxAuditPageTrips bounds the database round trips of a filtered audit
// page for a signed-in auditor whose session is warm, when no failure
// window can have ended since the last look: the session with its person,
// the page's query, and beside it the people the filter suggests and the
// approvals link.
const maxAuditPageTrips = 4

// A filtered audit page in steady state makes at most maxAuditPageTrips
// database round trips.
func TestAuditPageRoundTrips(t *testing.T) {
	t.Parallel()
	ts, wire := newWiredTestServer(t, testdb.New(t), nil)
	auditor := ts.client(t, models.Grant{Role: models.RoleAuditor})
	page := func() {
		t.Helper()
		res, body := do(t, auditor, http.MethodGet, ts.URL+"/audit?event=auth.", nil)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "auth.") {
			t.Fatalf("audit page: %d %.300s", res.StatusCode, body)
		}
	}
	page() // warms the session and the statement caches
	page()
	var trips []string
	for _, trip := range wire.Count(page) {
		if !strings.HasPrefix(trip, "prepare: ") { // once per pooled connection
			trips = append(trips, trip)
		}
	}
	if len(trips) > maxAuditPageTrips {
		t.Errorf("an audit page made %d database round trips, more than %d:\n%s", len(trips), maxAuditPageTrips, strings.Join(trips, "\n"))
	}
}
