package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/notify/channel/channeltest"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// allowLoopback lets channels reach the test receivers on this machine,
// as an admin would allow a private network on the page.
func allowLoopback(t *testing.T, ts *testServer, admin *http.Client) {
	t.Helper()
	if res, body := ts.post(t, admin, "/admin/notifications/networks", url.Values{"name": {"test receivers"}, "network": {"127.0.0.0/8"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("allow loopback: %d %.300s", res.StatusCode, body)
	}
}

// Targets on loopback, link-local or private addresses are refused unless
// an admin allowed the network by name, the portal's own address always;
// the test button tells the status code, never the answer.
func TestNotificationTargetsStayOutside(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testdb.New(t), nil)
	seedDemoMappings(t, ts)
	admin := ts.client(t, models.Grant{Role: models.RoleAdmin})
	add := func(target string) (int, string) {
		res, body := ts.post(t, admin, "/admin/notifications", url.Values{"kind": {"webhook"}, "target": {target}})
		return res.StatusCode, body
	}
	hook := channeltest.NewReceiver(t, nil)
	for _, target := range []string{"http://127.0.0.1:5432/", "http://[::1]:8080/x", "https://localhost./x", "http://localhost/x",
		"https://169.254.169.254/latest/meta-data", "https://10.0.0.8/hook", "https://[fd00::1]/hook", hook.URL + "/in"} {
		if status, body := add(target); status != http.StatusUnprocessableEntity || !strings.Contains(body, "refused") {
			t.Errorf("%s: %d, want refused", target, status)
		}
	}
	lead := ts.client(t, models.Grant{Role: models.RoleLead, Department: "fleet"})
	if res, _ := ts.post(t, lead, "/admin/notifications/networks", url.Values{"name": {"x"}, "network": {"127.0.0.0/8"}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a lead allowed a network: %d", res.StatusCode)
	}
	allowLoopback(t, ts, admin)
	if status, body := add(ts.URL + "/api/ts/v1/oauth2/token"); status != http.StatusUnprocessableEntity || !strings.Contains(body, "own address") {
		t.Fatalf("the portal's own address: %d", status)
	}
	if status, body := add("https://10.0.0.8/hook"); status != http.StatusUnprocessableEntity {
		t.Fatalf("a private network nobody allowed: %d %.200s", status, body)
	}
	if status, _ := add(hook.URL + "/in"); status != http.StatusOK {
		t.Fatalf("an allowed network: %d", status)
	}
	hook.FailNextWith(1, http.StatusTeapot)
	res, body := ts.post(t, admin, "/admin/notifications/1/test", nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("test: %d %.200s", res.StatusCode, body)
	}
	_, page := do(t, admin, http.MethodGet, ts.URL+"/admin/notifications", nil)
	if !strings.Contains(page, "it answered HTTP 418") || strings.Contains(page, "receiver told to fail") {
		t.Fatalf("the test result does not give the status: %.3000s", page)
	}
	if got := hook.Received(); len(got) != 0 {
		t.Fatalf("the receiver accepted %d messages", len(got))
	}
	// Taken back, the network is refused at the very next connection.
	if res, _ := ts.post(t, admin, "/admin/notifications/networks/1/delete", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove network: %d", res.StatusCode)
	}
	ts.post(t, admin, "/admin/notifications/1/test", nil)
	if _, page = do(t, admin, http.MethodGet, ts.URL+"/admin/notifications", nil); !strings.Contains(page, "its address is refused") {
		t.Fatalf("the test after the network was removed: %.3000s", page)
	}
}
