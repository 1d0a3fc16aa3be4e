package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/models"
)

var requestLocation = regexp.MustCompile(`^/approvals/([0-9]+)$`)

// The whole dual-control flow over HTTP: an admin turns approval for
// reveal on in the settings form; a lead asks on the reveal page, cannot
// decide it, another lead approves it, the first reveals once; no page
// but the reveal shows the password.
func TestRevealUnderDualControlOverHTTP(t *testing.T) {
	t.Parallel()
	ts, sim := newTSimServer(t)
	admin := ts.client(t, models.Grant{Role: models.RoleAdmin})
	lead := ts.client(t, models.Grant{Role: models.RoleLead, Department: "fleet"})
	lead2 := ts.client(t, models.Grant{Role: models.RoleLead, Department: "fleet"})
	member := ts.client(t, models.Grant{Role: models.RoleMember, Department: "fleet"})
	if res, body := ts.post(t, admin, "/departments/fleet/credential", url.Values{"username": {fleetUser}, "password": {fleetPassword}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("credential: %d %.300s", res.StatusCode, body)
	}
	if res, _ := ts.post(t, admin, "/departments/fleet/settings", url.Values{"name": {"Fleet"}, "protocol": {"rest"},
		"reveal_allowed": {"on"}, "approve_reveal": {"on"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("settings: %d", res.StatusCode)
	}
	_, body := do(t, lead, http.MethodGet, ts.URL+"/departments/fleet/reveal", nil)
	if !strings.Contains(body, `id="approval-request-form"`) || strings.Contains(body, `id="reveal-confirm"`) {
		t.Fatalf("the reveal page does not ask for approval first: %.2000s", body)
	}
	// Without an approval the reveal is refused and nothing is shown.
	res, body := ts.post(t, lead, "/departments/fleet/reveal", url.Values{"reason": {"ticket OPS-42 gateway setup"}})
	if res.StatusCode != http.StatusForbidden || strings.Contains(body, fleetPassword) {
		t.Fatalf("reveal without approval: %d", res.StatusCode)
	}
	res, _ = ts.post(t, lead, "/departments/fleet/reveal/request", url.Values{"reason": {"ticket OPS-42 gateway setup"}})
	m := requestLocation.FindStringSubmatch(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("request: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	id := m[1]
	if _, body = do(t, lead, http.MethodGet, ts.URL+"/departments/fleet/reveal", nil); !strings.Contains(body, `id="approval-waiting"`) {
		t.Fatalf("the reveal page does not say it is waiting: %.2000s", body)
	}
	// The requester cannot approve it; a member may not even try.
	if res, _ = ts.post(t, lead, "/approvals/"+id+"/approve", nil); res.StatusCode != http.StatusForbidden {
		t.Fatalf("self-approval over HTTP: %d", res.StatusCode)
	}
	if res, _ = ts.post(t, member, "/approvals/"+id+"/approve", nil); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a member's approval: %d", res.StatusCode)
	}
	_, body = do(t, lead2, http.MethodGet, ts.URL+"/approvals", nil)
	if !strings.Contains(body, `href="/approvals/`+id+`"`) || !strings.Contains(body, `href="/approvals"`) {
		t.Fatalf("the other lead's approvals page does not list the request: %.3000s", body)
	}
	if _, body = do(t, lead2, http.MethodGet, ts.URL+"/approvals/"+id, nil); !strings.Contains(body, `id="approve"`) {
		t.Fatalf("no approve form for the other lead: %.2000s", body)
	}
	if res, _ = ts.post(t, lead2, "/approvals/"+id+"/approve", url.Values{"note": {"fine"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d", res.StatusCode)
	}
	_, body = do(t, lead, http.MethodGet, ts.URL+"/departments/fleet/reveal", nil)
	if !strings.Contains(body, `id="approval-approved"`) || !strings.Contains(body, `name="approval_id" value="`+id+`"`) {
		t.Fatalf("the reveal page does not offer to proceed: %.2000s", body)
	}
	form := url.Values{"reason": {"ticket OPS-42 gateway setup"}, "approval_id": {id}}
	if res, body = ts.post(t, lead, "/departments/fleet/reveal", form); res.StatusCode != http.StatusOK || !strings.Contains(body, fleetPassword) {
		t.Fatalf("approved reveal: %d", res.StatusCode)
	}
	if res, body = ts.post(t, lead, "/departments/fleet/reveal", form); res.StatusCode == http.StatusOK || strings.Contains(body, fleetPassword) {
		t.Fatalf("a second reveal with the same approval: %d", res.StatusCode)
	}
	for _, c := range []*http.Client{lead, lead2} {
		for _, path := range []string{"/approvals", "/approvals/" + id} {
			if _, body = do(t, c, http.MethodGet, ts.URL+path, nil); strings.Contains(body, fleetPassword) {
				t.Fatalf("%s shows the password", path)
			}
		}
	}
	if strings.Contains(ts.Logs.String(), fleetPassword) {
		t.Fatal("the password reached the log")
	}
	if c, _ := sim.User(fleetUser); c.ResetsApplied != 0 {
		t.Fatalf("simulator: %+v", c)
	}
}

// Rotate now under dual control: the confirmation page asks for approval
// and the POST without one sends nothing upstream.
func TestRotateNowWithoutApprovalSendsNothingOverHTTP(t *testing.T) {
	t.Parallel()
	ts, sim := newTSimServer(t)
	admin := ts.client(t, models.Grant{Role: models.RoleAdmin})
	lead := ts.client(t, models.Grant{Role: models.RoleLead, Department: "fleet"})
	ts.post(t, admin, "/departments/fleet/credential", url.Values{"username": {fleetUser}, "password": {fleetPassword}})
	ts.post(t, admin, "/departments/fleet/settings", url.Values{"name": {"Fleet"}, "protocol": {"rest"}, "approve_rotate": {"on"}})
	before := sim.Stats()
	_, body := do(t, lead, http.MethodGet, ts.URL+"/departments/fleet/rotate", nil)
	if !strings.Contains(body, `id="approval-request-form"`) || strings.Contains(body, `id="rotate-confirm"`) {
		t.Fatalf("the rotate page does not ask for approval: %.2000s", body)
	}
	res, _ := ts.post(t, lead, "/departments/fleet/rotate", nil)
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("rotate now without approval: %d", res.StatusCode)
	}
	if after := sim.Stats(); after.Requests != before.Requests || after.ResetsApplied != 0 {
		t.Fatalf("ThingSpace was called: %+v → %+v", before, after)
	}
}
