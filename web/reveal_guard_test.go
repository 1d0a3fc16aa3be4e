package web

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/models"
)

// A reveal needs a real reason and is rate-limited per person.
func TestRevealNeedsAReasonAndIsRateLimited(t *testing.T) {
	t.Parallel()
	ts, _ := newTSimServer(t)
	admin := ts.client(t, models.Grant{Role: models.RoleAdmin})
	if res, _ := ts.post(t, admin, "/departments/fleet/credential", url.Values{"username": {fleetUser}, "password": {fleetPassword}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("credential: %d", res.StatusCode)
	}
	if _, err := ts.DB.Pool.Exec(context.Background(), "UPDATE departments SET reveal_allowed = true"); err != nil {
		t.Fatal(err)
	}
	// A person's mistake: the form again, its message beside the reason,
	// what was typed kept (422).
	for _, reason := range []string{"x", "   why    ", "ok\u202eevil"} {
		res, body := ts.post(t, admin, "/departments/fleet/reveal", url.Values{"reason": {reason}})
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="error-reason"`) || !strings.Contains(body, `aria-invalid="true"`) ||
			!strings.Contains(body, html.EscapeString(reason)+"</textarea>") || strings.Contains(body, `class="flash error"`) {
			t.Errorf("reason %q: %d %.2000s", reason, res.StatusCode, body)
		}
	}
	if n := ts.countEvents(t, models.EvCredentialRevealed); n != 0 {
		t.Fatalf("a reveal without a real reason happened: %d", n)
	}
	statuses := []int{}
	for range 6 {
		res, _ := ts.post(t, admin, "/departments/fleet/reveal", url.Values{"reason": {"incident 4711: vendor needs it"}})
		statuses = append(statuses, res.StatusCode)
	}
	if statuses[0] != http.StatusOK || statuses[5] != http.StatusTooManyRequests {
		t.Fatalf("six reveals in a row answered %v", statuses)
	}
	if n := ts.countEvents(t, models.EvCredentialRevealed); n != 5 {
		t.Fatalf("%d reveals recorded, want 5", n)
	}
}
