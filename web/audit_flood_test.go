package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// countEvents counts the events with code.
func (ts *testServer) countEvents(t *testing.T, code string) int {
	t.Helper()
	var n int
	if err := ts.DB.Pool.QueryRow(context.Background(), "SELECT count(*) FROM audit_events WHERE code = $1", code).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Issue 16.4: a client's X-Request-ID is not stored verbatim; the server
// makes its own, and keeps a short, well-formed client one apart.
func TestRequestIDsComeFromTheServer(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testdb.New(t), nil)
	c := anonClient()
	token := ts.csrf(t, c)
	send := func(clientID string) {
		form := url.Values{"username": {"someone"}, "password": {""}, "csrf_token": {token}}
		req, err := http.NewRequest(http.MethodPost, ts.URL+"/login/local", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Request-ID", clientID)
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if err := res.Body.Close(); err != nil {
			t.Fatal(err)
		}
		if got := res.Header.Get("X-Request-Id"); got == clientID || len(got) > 64 {
			t.Errorf("the response echoes the client's request ID (%d bytes)", len(got))
		}
	}
	huge := strings.Repeat("A", 50_000)
	send(huge)
	var rid, detail string
	err := ts.DB.Pool.QueryRow(context.Background(), "SELECT request_id, detail::text FROM audit_events WHERE code = $1 ORDER BY id DESC LIMIT 1",
		models.EvBreakGlassFailed).Scan(&rid, &detail)
	if err != nil {
		t.Fatal(err)
	}
	if len(rid) > 64 || strings.Contains(detail, "AAAAAAAA") || !regexp.MustCompile(`^[A-Za-z0-9_-]{16,64}$`).MatchString(rid) {
		t.Fatalf("stored request ID %.80q (%d bytes), detail %.200s", rid, len(rid), detail)
	}
	// A well-formed client ID is kept, beside the server's own, in the log.
	send("trace-1234.abc")
	if !strings.Contains(ts.Logs.String(), `"client_request_id":"trace-1234.abc"`) {
		t.Error("a well-formed client request ID is not kept in the log")
	}
}

// Issue 16.4: anonymous failures are counted per address and window, not
// written one row each.
func TestAnonymousFailuresAreAggregated(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testdb.New(t), map[string]string{"OIDC_ISSUER": "http://127.0.0.1:1", "OIDC_CLIENT_ID": "x", "OIDC_CLIENT_SECRET": "y"})
	c := anonClient()
	for range 30 {
		// Malformed: no password, so no bcrypt; each used to be a row.
		ts.post(t, c, "/login/local", url.Values{"username": {"someone"}, "password": {""}})
		// An IdP error with no sign-in state behind it.
		do(t, c, http.MethodGet, ts.URL+"/auth/callback?error=access_denied&error_description=spam", nil)
	}
	if n := ts.countEvents(t, models.EvBreakGlassFailed); n != 1 {
		t.Errorf("30 anonymous break-glass failures wrote %d events, want 1 and a count", n)
	}
	if n := ts.countEvents(t, models.EvSignInFailed); n > 1 {
		t.Errorf("30 unsolicited callback errors wrote %d events", n)
	}
	var idpErrs int
	if err := ts.DB.Pool.QueryRow(context.Background(), "SELECT count(*) FROM audit_events WHERE detail->>'reason' LIKE 'idp error%'").Scan(&idpErrs); err != nil {
		t.Fatal(err)
	}
	if idpErrs != 0 {
		t.Errorf("an IdP error was audited before the sign-in state was checked (%d events)", idpErrs)
	}
	// When the window has passed, the count lands in the trail.
	ts.Clock.Advance(10 * time.Minute)
	if err := ts.DB.FlushAuditWindows(context.Background(), ts.now()); err != nil {
		t.Fatal(err)
	}
	var count int
	err := ts.DB.Pool.QueryRow(context.Background(), "SELECT (detail->>'count')::int FROM audit_events WHERE code = $1 AND detail->>'code' = $2",
		models.EvFailuresSummarized, models.EvBreakGlassFailed).Scan(&count)
	if err != nil || count != 30 {
		t.Fatalf("summary of the window: count %d, %v", count, err)
	}
}

// failures closes every aggregation window (moving the clock past it) and
// counts the failures with code that the trail records: events written one
// by one plus the rest of each summarised window.
func (ts *testServer) failures(t *testing.T, code string) int {
	t.Helper()
	ctx := context.Background()
	ts.Clock.Advance(store.AuditWindow + time.Second)
	if err := ts.DB.FlushAuditWindows(ctx, ts.now()); err != nil {
		t.Fatal(err)
	}
	var n int
	err := ts.DB.Pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM audit_events WHERE code = $1 AND outcome = 'failure') +
		(SELECT coalesce(sum((detail->>'count')::int - 1), 0) FROM audit_events WHERE code = $2 AND detail->>'code' = $1)`,
		code, models.EvFailuresSummarized).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
