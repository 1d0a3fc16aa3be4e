package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/models"
)

// A decider sees how many requests wait in the menu, decides with one
// note field, and finds the decision in the history.
func TestApprovalsMenuCountAndHistory(t *testing.T) {
	t.Parallel()
	ts, _ := newTSimServer(t)
	admin := ts.client(t, models.Grant{Role: models.RoleAdmin})
	lead := ts.client(t, models.Grant{Role: models.RoleLead, Department: "fleet"})
	lead2 := ts.client(t, models.Grant{Role: models.RoleLead, Department: "fleet"})
	if res, body := ts.post(t, admin, "/departments/fleet/credential", url.Values{"username": {fleetUser}, "password": {fleetPassword}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("credential: %d %.300s", res.StatusCode, body)
	}
	if res, _ := ts.post(t, admin, "/departments/fleet/settings", url.Values{"name": {"Fleet"}, "protocol": {"rest"},
		"reveal_allowed": {"on"}, "approve_reveal": {"on"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("settings: %d", res.StatusCode)
	}
	if _, body := do(t, lead2, http.MethodGet, ts.URL+"/", nil); strings.Contains(body, `id="nav-count-approvals"`) {
		t.Fatal("a count with nothing pending")
	}
	res, _ := ts.post(t, lead, "/departments/fleet/reveal/request", url.Values{"reason": {"ticket OPS-7 gateway setup"}})
	m := requestLocation.FindStringSubmatch(res.Header.Get("Location"))
	if m == nil {
		t.Fatalf("request: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	_, body := do(t, lead2, http.MethodGet, ts.URL+"/", nil)
	if !strings.Contains(body, `id="nav-count-approvals"><span class="visually-hidden">, </span>1<`) {
		t.Fatalf("no pending count in the menu: %.1500s", body)
	}
	_, page := do(t, lead2, http.MethodGet, ts.URL+"/approvals/"+m[1], nil)
	if n := strings.Count(page, `name="note"`); n != 1 || !strings.Contains(page, `formaction="/approvals/`+m[1]+`/refuse"`) {
		t.Fatalf("the decision form has %d note fields, or no refuse button in it: %.2000s", n, page)
	}
	// A note too long: the request's page again, the message beside the
	// note and what was typed kept (422), nothing decided.
	long := strings.Repeat("n", 501)
	if res, body := ts.post(t, lead2, "/approvals/"+m[1]+"/refuse", url.Values{"note": {long}}); res.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(body, `id="error-note"`) || !strings.Contains(body, `value="`+long+`"`) || !strings.Contains(body, `id="decision-note"`) {
		t.Fatalf("a note too long: %d %.2000s", res.StatusCode, body)
	}
	if res, _ := ts.post(t, lead2, "/approvals/"+m[1]+"/refuse", url.Values{"note": {"use the gateway instead"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("refuse: %d", res.StatusCode)
	}
	_, list := do(t, lead2, http.MethodGet, ts.URL+"/approvals", nil)
	i := strings.Index(list, `id="decided"`)
	if i < 0 || !strings.Contains(list[i:], "use the gateway instead") || !strings.Contains(list[i:], ">refused<") || strings.Contains(list, `id="nav-count-approvals"`) {
		t.Fatalf("the history does not show the decision, or the count stayed: %.3000s", list)
	}
}

// A request for approval without a usable reason comes back to the
// action's page with the message beside the reason and what was typed
// kept; nothing is requested.
func TestApprovalRequestMistakeKeepsTheReason(t *testing.T) {
	t.Parallel()
	ts, _ := newTSimServer(t)
	admin := ts.client(t, models.Grant{Role: models.RoleAdmin})
	lead := ts.client(t, models.Grant{Role: models.RoleLead, Department: "fleet"})
	if res, body := ts.post(t, admin, "/departments/fleet/credential", url.Values{"username": {fleetUser}, "password": {fleetPassword}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("credential: %d %.300s", res.StatusCode, body)
	}
	if res, _ := ts.post(t, admin, "/departments/fleet/settings", url.Values{"name": {"Fleet"}, "protocol": {"rest"},
		"reveal_allowed": {"on"}, "approve_reveal": {"on"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("settings: %d", res.StatusCode)
	}
	typed := strings.Repeat("why ", 200)
	res, _ := ts.post(t, lead, "/departments/fleet/reveal/request", url.Values{"reason": {typed}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/departments/fleet/reveal" {
		t.Fatalf("request: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	_, page := do(t, lead, http.MethodGet, ts.URL+"/departments/fleet/reveal", nil)
	if !strings.Contains(page, `id="error-reason"`) || !strings.Contains(page, `aria-invalid="true"`) ||
		!strings.Contains(page, ">"+typed[:500]+"</textarea>") {
		t.Fatalf("the reveal page does not show the reason's mistake with what was typed: %.3000s", page)
	}
	if _, again := do(t, lead, http.MethodGet, ts.URL+"/departments/fleet/reveal", nil); strings.Contains(again, `id="error-reason"`) {
		t.Fatal("the mistake is shown again on the next visit")
	}
	if strings.Contains(strings.Join(ts.events(t), " "), string(models.EvApprovalRequested)) {
		t.Fatal("a request was made")
	}
}
