package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/models"
)

// Under dual control for rotation, a lead cannot make a rotation due
// sooner by the schedule (a maximum age of a day, then the scheduler
// rotates) without the same approval as rotating now; with an approved
// rotate request the change is made and the approval spent. Raising the
// maximum age needs nothing.
func TestScheduleSoonerNeedsTheRotateApproval(t *testing.T) {
	t.Parallel()
	ts, _ := newTSimServer(t)
	admin := ts.client(t, models.Grant{Role: models.RoleAdmin})
	lead := ts.client(t, models.Grant{Role: models.RoleLead, Department: "fleet"})
	lead2 := ts.client(t, models.Grant{Role: models.RoleLead, Department: "fleet"})
	if res, body := ts.post(t, admin, "/departments/fleet/credential", url.Values{"username": {fleetUser}, "password": {fleetPassword}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("credential: %d %.300s", res.StatusCode, body)
	}
	if res, _ := ts.post(t, lead, "/departments/fleet/schedule", url.Values{"enabled": {"on"}, "max_age_days": {"90"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("schedule before dual control: %d", res.StatusCode)
	}
	if res, _ := ts.post(t, admin, "/departments/fleet/settings", url.Values{"name": {"Fleet"}, "protocol": {"rest"},
		"approve_rotate": {"on"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("settings: %d", res.StatusCode)
	}
	maxAge := func() int {
		var n int
		if err := ts.DB.Pool.QueryRow(context.Background(), "SELECT max_age_days FROM departments WHERE slug = 'fleet'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := maxAge()
	if res, _ := ts.post(t, lead, "/departments/fleet/schedule", url.Values{"enabled": {"on"}, "max_age_days": {"1"}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a sooner schedule without approval: %d", res.StatusCode)
	}
	if got := maxAge(); got != before {
		t.Fatalf("the maximum age became %d without approval", got)
	}
	if res, _ := ts.post(t, lead, "/departments/fleet/schedule", url.Values{"enabled": {"on"}, "max_age_days": {"120"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("a later schedule: %d", res.StatusCode)
	}
	res, _ := ts.post(t, lead, "/departments/fleet/rotate/request", url.Values{"reason": {"ticket OPS-7: daily rotation for the audit"}})
	m := requestLocation.FindStringSubmatch(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("request: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if res, _ = ts.post(t, lead2, "/approvals/"+m[1]+"/approve", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d", res.StatusCode)
	}
	_, body := do(t, lead, http.MethodGet, ts.URL+"/departments/fleet", nil)
	if !strings.Contains(body, `id="schedule-approval"`) || !strings.Contains(body, `name="approval_id" value="`+m[1]+`"`) {
		t.Fatalf("the schedule form does not carry the approval: %.3000s", body)
	}
	if res, _ = ts.post(t, lead, "/departments/fleet/schedule", url.Values{"enabled": {"on"}, "max_age_days": {"1"}, "approval_id": {m[1]}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the approved schedule: %d", res.StatusCode)
	}
	if got := maxAge(); got != 1 {
		t.Fatalf("maximum age %d, want 1", got)
	}
	if evs := strings.Join(ts.events(t), " "); !strings.Contains(evs, models.EvApprovalUsed) {
		t.Fatalf("the approval was not spent: %s", evs)
	}
}
