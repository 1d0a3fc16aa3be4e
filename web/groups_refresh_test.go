package web

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

func newFakeSSOServer(t *testing.T, idp *fakeIdP) *testServer {
	t.Helper()
	return newTestServer(t, testdb.New(t), map[string]string{"OIDC_ISSUER": idp.URL, "OIDC_CLIENT_ID": "uwsportal",
		"OIDC_CLIENT_SECRET": "s", "UWSPORTAL_ADMIN_GROUPS": "uwsportal-admins"})
}

// Issue 16.5: a person removed from a group in the IdP loses what it gave
// within UWSPORTAL_GROUPS_REFRESH (15 minutes by default), not at the end
// of a 12-hour session.
func TestRemovedFromAGroupInTheIdPLosesAccessWithinTheRefresh(t *testing.T) {
	t.Parallel()
	idp := newFakeIdP(t)
	ts := newFakeSSOServer(t, idp)
	c := signInFake(t, ts)
	if res, _ := do(t, c, http.MethodGet, ts.URL+"/admin/users", nil); res.StatusCode != http.StatusOK {
		t.Fatalf("the admin cannot see users: %d", res.StatusCode)
	}
	idp.set([]string{"someone-else"}, false)
	ts.Clock.Advance(10 * time.Minute)
	if res, _ := do(t, c, http.MethodGet, ts.URL+"/admin/users", nil); res.StatusCode != http.StatusOK {
		t.Fatalf("before the refresh is due: %d", res.StatusCode)
	}
	ts.Clock.Advance(6 * time.Minute)
	if res, _ := do(t, c, http.MethodGet, ts.URL+"/admin/users", nil); res.StatusCode != http.StatusForbidden {
		t.Fatalf("16 minutes after leaving the admin group: %d", res.StatusCode)
	}
	if ts.countEvents(t, models.EvGroupsRefreshed) != 1 {
		t.Error("the lost role was not audited")
	}
}

// Issue 16.5: when the IdP refuses to vouch for the person any more
// (refresh token revoked, account removed), the session ends.
func TestIdPRefusalEndsTheSession(t *testing.T) {
	t.Parallel()
	idp := newFakeIdP(t)
	ts := newFakeSSOServer(t, idp)
	c := signInFake(t, ts)
	idp.set(nil, true)
	ts.Clock.Advance(16 * time.Minute)
	res, _ := do(t, c, http.MethodGet, ts.URL+"/admin/users", nil)
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/auth/login") {
		t.Fatalf("after the IdP refused: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
}
