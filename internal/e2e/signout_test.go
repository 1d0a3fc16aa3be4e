package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// signOut: mike signs out; the IdP's end-session sends him back to the
// portal's own page, which says so and offers to sign in again. His
// session cookie joins the secrets first (the scan cannot read it after).
func signOut(t *testing.T, s *stack, mike *persona) {
	_, cookies := mike.httpClient(t)
	v, err := cookie(cookies, "uwsportal_session")
	if err != nil {
		t.Fatal(err)
	}
	s.secrets.add("mike's portal session cookie", v)
	mike.open(t, "/", "header.topbar .who")
	mike.do(t, "press Sign out", chromedp.Click(chromedp.CSS(`header.topbar .who form button[type="submit"]`)))
	mike.waitFor(t, "the signed-out page", `location.pathname === "/signed-out" && document.getElementById("sign-in-again") !== null`)
	if txt := mike.text(t, "signed-out"); !strings.Contains(txt, "You are signed out") {
		t.Errorf("after signing out mike reads %q", txt)
	}
	mike.open(t, "/departments/fleet", "body")
	if loc := get(t, mike, "read the location", chromedp.Location()); strings.HasPrefix(loc, s.base+"/departments/fleet") {
		t.Errorf("after signing out mike still reaches %s", loc)
	}
}
