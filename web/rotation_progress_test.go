package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/tsim"
	"github.com/uwsportal/uwsportal/models"
)

// followRotation reads the progress page a rotate POST led to until the
// rotation ends, as the page's own refresh would, and returns it then.
func followRotation(t *testing.T, ts *testServer, c *http.Client, res *http.Response) string {
	t.Helper()
	loc := res.Header.Get("Location")
	if !strings.HasPrefix(loc, "/departments/") || !strings.Contains(loc, "/rotations/") {
		t.Fatalf("rotate led to %q, not a progress page", loc)
	}
	for range 300 {
		r, body := do(t, c, http.MethodGet, ts.URL+loc, nil)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("progress page: %d %.300s", r.StatusCode, body)
		}
		if strings.Contains(body, `id="rotation-done"`) {
			if strings.Contains(body, `http-equiv="refresh"`) {
				t.Fatal("the finished rotation's page still refreshes itself")
			}
			return body
		}
		if !strings.Contains(body, `<meta http-equiv="refresh" content="2">`) {
			t.Fatalf("a running rotation's page does not refresh itself: %.1500s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the rotation did not end in 30 s")
	return ""
}

// With ThingSpace slow, "Rotate now" answers at once with a page that
// shows the rotation's progress from the database and refreshes itself; a
// second press sends nothing more and leads to the same page.
func TestRotationProgressWhileThingSpaceIsSlow(t *testing.T) {
	t.Parallel()
	ts, sim := newTSimServer(t)
	admin := ts.client(t, models.Grant{Role: models.RoleAdmin})
	lead := ts.client(t, models.Grant{Role: models.RoleLead, Department: "fleet"})
	if res, body := ts.post(t, admin, "/departments/fleet/credential", url.Values{"username": {fleetUser}, "password": {fleetPassword}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("credential: %d %.300s", res.StatusCode, body)
	}
	if err := sim.SetFaults(fleetUser, tsim.Faults{Latency: 1500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	res, _ := ts.post(t, lead, "/departments/fleet/rotate", nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("rotate: %d", res.StatusCode)
	}
	loc := res.Header.Get("Location")
	_, page := do(t, lead, http.MethodGet, ts.URL+loc, nil)
	if !strings.Contains(page, `<li class="step done">`) || !strings.Contains(page, "Reset sent to ThingSpace") ||
		!strings.Contains(page, `<li class="step current">`) || strings.Contains(page, `id="rotation-done"`) {
		t.Fatalf("progress while ThingSpace is slow: %.2000s", page)
	}
	again, _ := ts.post(t, lead, "/departments/fleet/rotate", nil)
	if again.StatusCode != http.StatusSeeOther || again.Header.Get("Location") != loc {
		t.Fatalf("second press: %d to %q, want the same progress page %q", again.StatusCode, again.Header.Get("Location"), loc)
	}
	_, page = do(t, lead, http.MethodGet, ts.URL+loc, nil)
	if !strings.Contains(page, "already under way") {
		t.Error("the second press is not said to have sent nothing")
	}
	done := followRotation(t, ts, lead, res)
	if !strings.Contains(done, `class="flash success"`) || strings.Count(done, `<li class="step done">`) != 4 {
		t.Fatalf("finished rotation: %.2000s", done)
	}
	if c, _ := sim.User(fleetUser); c.ResetsApplied != 1 {
		t.Fatalf("the simulator applied %d resets, want 1", c.ResetsApplied)
	}
	if res, _ := do(t, lead, http.MethodGet, ts.URL+"/departments/fleet/rotations/999999", nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown run: %d", res.StatusCode)
	}
}
