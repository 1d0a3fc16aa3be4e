package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

func TestBreakGlassSignInIsThrottledAuditedAndBannered(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testdb.New(t), nil)
	ctx := context.Background()
	cli := &models.Principal{Actor: "cli:test", Grants: []models.Grant{{Role: models.RoleAdmin}}}
	const pw = "Gl4ss-Br34k!Emergency"
	if err := ts.people.SetLocalAdmin(ctx, cli, "breakglass", secret.Secret("weak")); err == nil {
		t.Fatal("a weak break-glass password was accepted")
	}
	if err := ts.people.SetLocalAdmin(ctx, cli, "breakglass", secret.Secret(pw)); err != nil {
		t.Fatal(err)
	}
	login := func(c *http.Client, password string) (*http.Response, string) {
		return ts.post(t, c, "/login/local", url.Values{"username": {"breakglass"}, "password": {password}, "next": {"/admin/users"}})
	}
	c := anonClient()
	res, body := login(c, pw)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/users" {
		t.Fatalf("sign-in: %d %.300s", res.StatusCode, body)
	}
	_, body = do(t, c, http.MethodGet, ts.URL+"/admin/users", nil)
	if !strings.Contains(body, "Break-glass sign-in") {
		t.Fatal("no break-glass banner")
	}
	// Five wrong passwords, then even the right one is refused for a while.
	attacker := anonClient()
	for range 5 {
		if res, body := login(attacker, "Wrong-Password-123!"); res.StatusCode != 200 || !strings.Contains(body, "Wrong username or password") {
			t.Fatalf("wrong password: %d", res.StatusCode)
		}
	}
	if res, body := login(attacker, pw); res.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many failed attempts") {
		t.Fatalf("throttle: %d", res.StatusCode)
	}
	ts.Clock.Advance(16 * time.Minute)
	if res, _ := login(anonClient(), pw); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the window: %d", res.StatusCode)
	}
	failed := ts.failures(t, models.EvBreakGlassFailed)
	evs := strings.Join(ts.events(t), " ")
	if failed != 6 || strings.Count(evs, models.EvBreakGlassSucceeded) != 2 {
		t.Fatalf("attempts not all audited: %s", evs)
	}
	if strings.Contains(ts.Logs.String(), pw) || strings.Contains(ts.Logs.String(), "Wrong-Password-123!") {
		t.Fatal("a password reached the log")
	}
	var leaked int
	if err := ts.DB.Pool.QueryRow(ctx, "SELECT count(*) FROM audit_events WHERE audit_events::text LIKE '%Wrong-Password%' OR audit_events::text LIKE '%Gl4ss%'").Scan(&leaked); err != nil {
		t.Fatal(err)
	}
	if leaked != 0 {
		t.Fatal("a password reached the audit trail")
	}
}
