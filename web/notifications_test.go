package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/notify/channel/channeltest"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// An admin adds channels on the page: a webhook's signing secret is shown
// once; a Slack URL's token is never shown, not even back in a form after
// bad input; a channel that keeps failing is flagged on the dashboard.
func TestNotificationsPage(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testdb.New(t), nil)
	seedDemoMappings(t, ts)
	admin := ts.client(t, models.Grant{Role: models.RoleAdmin})
	hook := channeltest.NewReceiver(t, nil)
	allowLoopback(t, ts, admin)
	res, body := ts.post(t, admin, "/admin/notifications", url.Values{"kind": {"webhook"}, "target": {hook.URL + "/in"},
		"events": {"quarantined", "attention"}})
	secret := regexp.MustCompile(`id="signing-secret-value">(whsec_[A-Za-z0-9_-]{40,})<`).FindStringSubmatch(body)
	if res.StatusCode != http.StatusOK || secret == nil {
		t.Fatalf("add webhook: %d, no signing secret shown: %.400s", res.StatusCode, body)
	}
	token := "T0001/B0001/sl4ckT0kenSecret"
	res, body = ts.post(t, admin, "/admin/notifications", url.Values{"kind": {"slack"}, "target": {"https://hooks.slack.com/services/" + token},
		"department": {"fleet"}})
	if res.StatusCode != http.StatusOK || strings.Contains(body, token) || !strings.Contains(body, "hooks.slack.com") {
		t.Fatalf("add slack: %d, token shown or host missing", res.StatusCode)
	}
	res, body = ts.post(t, admin, "/admin/notifications", url.Values{"kind": {"slack"}, "target": {"http://hooks.slack.com/services/" + token}})
	if res.StatusCode != http.StatusUnprocessableEntity || strings.Contains(body, token) || !strings.Contains(body, "https") {
		t.Fatalf("bad slack URL: %d, or the URL was echoed back", res.StatusCode)
	}
	_, list := do(t, admin, http.MethodGet, ts.URL+"/admin/notifications", nil)
	if strings.Contains(list, secret[1]) || strings.Contains(list, token) || len(regexp.MustCompile(`id="channel-[0-9]+"`).FindAllString(list, -1)) != 2 {
		t.Fatalf("the list shows a secret, or not the two channels")
	}
	var trail string
	if err := ts.DB.Pool.QueryRow(context.Background(), "SELECT string_agg(detail::text || target, ' ') FROM audit_events").Scan(&trail); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(trail, secret[1]) || strings.Contains(trail, token) || !strings.Contains(trail, "notify-channel:") {
		t.Fatal("the audit trail holds a channel secret, or not the channels")
	}

	// A member may not open the page; a lead may not add.
	member := ts.client(t, models.Grant{Role: models.RoleMember, Department: "fleet"})
	if res, _ := do(t, member, http.MethodGet, ts.URL+"/admin/notifications", nil); res.StatusCode != http.StatusForbidden {
		t.Fatalf("member: %d", res.StatusCode)
	}

	// Three failures in a row flag the channel for admins.
	if _, err := ts.DB.Pool.Exec(context.Background(), `UPDATE notify_channels SET consecutive_failures = 3, last_error = 'webhook: HTTP 500'
	  WHERE kind = 'webhook'`); err != nil {
		t.Fatal(err)
	}
	_, dash := do(t, admin, http.MethodGet, ts.URL+"/", nil)
	if !strings.Contains(dash, "failed 3 times in a row") {
		t.Fatalf("the dashboard does not flag the failing channel: %.600s", dash)
	}
	lead := ts.client(t, models.Grant{Role: models.RoleLead, Department: "fleet"})
	if _, dash := do(t, lead, http.MethodGet, ts.URL+"/", nil); strings.Contains(dash, "failed 3 times") {
		t.Fatal("a lead sees the admin's channel warning")
	}
}
