package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// postWith sends a form with extra headers.
func postWith(t *testing.T, c *http.Client, u string, form url.Values, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Body.Close(); err != nil {
		t.Fatal(err)
	}
	return res
}

func departmentCount(t *testing.T, ts *testServer) int {
	t.Helper()
	var n int
	if err := ts.DB.Pool.QueryRow(context.Background(), "SELECT count(*) FROM departments").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Issue 16.6: a sibling site plants a CSRF cookie of its choosing in the
// admin's browser and posts a form with the same value. The token must be
// bound to the server-side session, and a same-site (not same-origin)
// request refused.
func TestForgedPostWithAPlantedCookieIsRefused(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testdb.New(t), nil)
	victim := ts.client(t, models.Grant{Role: models.RoleAdmin})
	u, err := url.Parse(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	victim.Jar.SetCookies(u, []*http.Cookie{{Name: "uwsportal_csrf", Value: "planted-by-the-attacker", Path: "/"}})
	before := departmentCount(t, ts)
	form := url.Values{"slug": {"forged"}, "name": {"Forged"}, "csrf_token": {"planted-by-the-attacker"}}
	res := postWith(t, victim, ts.URL+"/departments", form, "Sec-Fetch-Site", "same-site")
	if res.StatusCode != http.StatusForbidden || departmentCount(t, ts) != before {
		t.Fatalf("a forged post with a planted cookie answered %d", res.StatusCode)
	}
	// The attacker's own valid token (from their own session) is no good
	// in the victim's session either, even with no fetch metadata at all.
	attacker := anonClient()
	form.Set("csrf_token", ts.csrf(t, attacker))
	if res := postWith(t, victim, ts.URL+"/departments", form); res.StatusCode != http.StatusForbidden || departmentCount(t, ts) != before {
		t.Fatalf("another session's token answered %d", res.StatusCode)
	}
	// A cross-site request is refused even with the victim's right token.
	form.Set("csrf_token", ts.csrf(t, victim))
	if res := postWith(t, victim, ts.URL+"/departments", form, "Sec-Fetch-Site", "cross-site"); res.StatusCode != http.StatusForbidden || departmentCount(t, ts) != before {
		t.Fatalf("a cross-site post answered %d", res.StatusCode)
	}
	// The victim's own form, same origin, works.
	if res := postWith(t, victim, ts.URL+"/departments", form, "Sec-Fetch-Site", "same-origin"); res.StatusCode != http.StatusSeeOther || departmentCount(t, ts) != before+1 {
		t.Fatalf("the real form answered %d", res.StatusCode)
	}
}

func TestCSRFIsRequiredOnEveryPost(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testdb.New(t), nil)
	c := ts.client(t, models.Grant{Role: models.RoleAdmin})
	form := url.Values{"group": {"g1"}, "role": {"auditor"}}
	if res, _ := do(t, c, http.MethodPost, ts.URL+"/admin/mappings", form); res.StatusCode != 400 && res.StatusCode != 403 {
		t.Fatalf("missing token: %d", res.StatusCode)
	}
	ts.csrf(t, c)
	form.Set("csrf_token", "wrong")
	if res, _ := do(t, c, http.MethodPost, ts.URL+"/admin/mappings", form); res.StatusCode != 403 {
		t.Fatalf("wrong token: %d", res.StatusCode)
	}
	if n := len(mappingsOf(t, ts)); n != 0 {
		t.Fatalf("a forged post changed something: %d mappings", n)
	}
	if res, _ := ts.post(t, c, "/admin/mappings", url.Values{"group": {"g1"}, "role": {"auditor"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("valid token: %d", res.StatusCode)
	}
	if n := len(mappingsOf(t, ts)); n != 1 {
		t.Fatalf("%d mappings", n)
	}
	// State-changing routes never answer a GET.
	if res, _ := do(t, c, http.MethodGet, ts.URL+"/admin/mappings/1/delete", nil); res.StatusCode != http.StatusMethodNotAllowed && res.StatusCode != 404 {
		t.Fatalf("GET on a POST route: %d", res.StatusCode)
	}
}

func mappingsOf(t *testing.T, ts *testServer) []models.Mapping {
	list, err := ts.DB.Mappings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return list
}
