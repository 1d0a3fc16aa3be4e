package web

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

var (
	gAdmin   = models.Grant{Role: models.RoleAdmin}
	gAuditor = models.Grant{Role: models.RoleAuditor}
	gLead    = models.Grant{Role: models.RoleLead, Department: "fleet"}
	gMember  = models.Grant{Role: models.RoleMember, Department: "fleet"}
)

// seedAudit writes n events alternating between fleet and billing, with a
// formula in the target, at fixed times one hour apart from 2024-05-01.
func seedAudit(t *testing.T, db *store.DB, n int) {
	t.Helper()
	for i := range n {
		p := &models.Principal{Actor: fmt.Sprint(500 + i%2), Name: fmt.Sprint("Seeded ", i%2)}
		e := models.NewEvent(models.EvRotateStarted, p, models.RequestMeta{SourceIP: "198.51.100.7", UserAgent: "seed", RequestID: fmt.Sprint("s", i)}).
			With("run_id", i, "trigger", "manual")
		e.Department = []string{"fleet", "billing"}[i%2]
		e.Target = "=cmd|' /C calc'!A0"
		e.Time = time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour)
		if err := db.AuditAlone(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAuditRoutesByRole(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ts := newTestServer(t, db, nil)
	seedAudit(t, db, 4)
	paths := []string{"/audit", "/audit/1", "/audit/verify", "/audit/export.csv", "/audit/export.ndjson"}
	want := map[models.Grant][]int{
		gAdmin:   {200, 200, 200, 200, 200},
		gAuditor: {200, 200, 200, 200, 200},
		gLead:    {200, 200, 403, 403, 403},
		gMember:  {403, 403, 403, 403, 403},
	}
	for g, statuses := range want {
		c := ts.client(t, g)
		for i, p := range paths {
			res, body := do(t, c, http.MethodGet, ts.URL+p, nil)
			if res.StatusCode != statuses[i] {
				t.Errorf("%s GET %s: %d, want %d: %.200s", g, p, res.StatusCode, statuses[i], body)
			}
		}
	}
	for _, p := range paths {
		if res, _ := do(t, anonClient(), http.MethodGet, ts.URL+p, nil); res.StatusCode < 300 || res.StatusCode == 200 {
			t.Errorf("anonymous GET %s: %d", p, res.StatusCode)
		}
	}
	for _, p := range []string{"/audit", "/audit/:id", "/audit/verify", "/audit/export.csv", "/audit/export.ndjson"} {
		if _, ok := ts.Policy(http.MethodGet, p); !ok {
			t.Errorf("%s has no policy", p)
		}
	}
}

func TestAuditPageFiltersPagesAndScopes(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ts := newTestServer(t, db, nil)
	seedAudit(t, db, 12)
	auditor := ts.client(t, gAuditor)

	res, body := do(t, auditor, http.MethodGet, ts.URL+"/audit?department=fleet&limit=4", nil)
	if res.StatusCode != 200 || !strings.Contains(body, "Times are in UTC") {
		t.Fatalf("%d %s", res.StatusCode, body)
	}
	for _, id := range []int{11, 9, 7, 5} {
		if !strings.Contains(body, fmt.Sprintf(`href="/audit/%d"`, id)) {
			t.Errorf("event %d missing", id)
		}
	}
	if strings.Contains(body, `href="/audit/10"`) || strings.Contains(body, `href="/audit/3"`) {
		t.Error("wrong department or page")
	}
	older := "/audit?before=5&amp;department=fleet&amp;limit=4"
	if !strings.Contains(body, older) || strings.Contains(body, "Newer") {
		t.Fatalf("pager: %s", body)
	}
	res, body = do(t, auditor, http.MethodGet, ts.URL+strings.ReplaceAll(older, "&amp;", "&"), nil)
	if res.StatusCode != 200 || !strings.Contains(body, `href="/audit/3"`) || !strings.Contains(body, `href="/audit/1"`) ||
		!strings.Contains(body, "after=3") || strings.Contains(body, "Older") {
		t.Fatalf("second page: %s", body)
	}
	// The time range is read in the page's zone and shown back.
	_, body = do(t, auditor, http.MethodGet, ts.URL+"/audit?since=2024-05-01T02:00&until=2024-05-01T04:00", nil)
	if !strings.Contains(body, `href="/audit/3"`) || !strings.Contains(body, `href="/audit/4"`) || strings.Contains(body, `href="/audit/5"`) ||
		!strings.Contains(body, `value="2024-05-01T02:00"`) {
		t.Fatalf("range: %s", body)
	}
	_, body = do(t, auditor, http.MethodGet, ts.URL+"/audit?actor=nobody", nil)
	if !strings.Contains(body, "No events match these filters.") {
		t.Fatal("no empty state")
	}

	// One event, every field.
	_, body = do(t, auditor, http.MethodGet, ts.URL+"/audit/2", nil)
	for _, s := range []string{models.EvRotateStarted, "198.51.100.7", "s1", "billing", "&#34;run_id&#34;: 1", "Previous hash"} {
		if !strings.Contains(body, s) {
			t.Errorf("event page lacks %q", s)
		}
	}
	if res, _ := do(t, auditor, http.MethodGet, ts.URL+"/audit/999", nil); res.StatusCode != 404 {
		t.Errorf("missing event: %d", res.StatusCode)
	}
	if res, _ := do(t, auditor, http.MethodGet, ts.URL+"/audit/abc", nil); res.StatusCode != 404 {
		t.Errorf("bad id: %d", res.StatusCode)
	}

	// A lead sees only their own department, and another's event is absent.
	lead := ts.client(t, gLead)
	_, body = do(t, lead, http.MethodGet, ts.URL+"/audit", nil)
	if !strings.Contains(body, `href="/audit/11"`) || strings.Contains(body, `href="/audit/12"`) || strings.Contains(body, "Export CSV") {
		t.Fatalf("lead list: %s", body)
	}
	if res, _ := do(t, lead, http.MethodGet, ts.URL+"/audit/12", nil); res.StatusCode != 404 {
		t.Fatalf("lead reading billing: %d", res.StatusCode)
	}
	if res, body := do(t, lead, http.MethodGet, ts.URL+"/audit?department=billing", nil); res.StatusCode != 200 || strings.Contains(body, `href="/audit/12"`) {
		t.Fatalf("lead filtering billing: %d", res.StatusCode)
	}
}

func TestAuditBadFilterIs400WithAClearMessage(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ts := newTestServer(t, db, nil)
	c := ts.client(t, gAuditor)
	for q, msg := range map[string]string{
		"since=yesterday":                     "since: &#34;yesterday&#34; is not a date",
		"since=2024-02-01&until=2024-01-01":   "since: the start",
		"event=nope":                          "event: &#34;nope&#34; is not the start of any event code",
		"outcome=maybe":                       "outcome: use success, failure or denied",
		"limit=100000":                        "limit: a whole number from 1 to 500",
		"actor=" + strings.Repeat("x", 300):   "actor: at most 200 characters",
		"q=" + url.QueryEscape("a\x00b"):      "q: control characters are not allowed",
		"before=1%20OR%201=1":                 "before: a page cursor",
		"department=" + url.QueryEscape("\n"): "", // trimmed to nothing: fine
	} {
		for _, p := range []string{"/audit", "/audit/export.csv"} {
			res, body := do(t, c, http.MethodGet, ts.URL+p+"?"+q, nil)
			if msg == "" {
				if res.StatusCode != 200 {
					t.Errorf("%s?%s: %d", p, q, res.StatusCode)
				}
				continue
			}
			// The page shows the form again (422); the export is a plain 400.
			want := http.StatusBadRequest
			if p == "/audit" {
				want = http.StatusUnprocessableEntity
			}
			if res.StatusCode != want || !strings.Contains(body, msg) {
				t.Errorf("%s?%.40s: %d, want %d with %q: %.300s", p, q, res.StatusCode, want, msg, body)
			}
			if res.Header.Get("Content-Disposition") != "" {
				t.Errorf("%s?%s: an error must not be an attachment", p, q)
			}
		}
	}
}

func TestAuditInjectionInEveryParameterIsInert(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ts := newTestServer(t, db, nil)
	seedAudit(t, db, 3)
	c := ts.client(t, gAdmin)
	for _, payload := range []string{`' OR '1'='1`, `'; DELETE FROM audit_events; --`, `%' OR 1=1 --`, `") UNION SELECT * FROM users --`} {
		for _, param := range []string{"actor", "department", "q"} {
			res, body := do(t, c, http.MethodGet, ts.URL+"/audit?"+param+"="+url.QueryEscape(payload), nil)
			if res.StatusCode != 200 || !strings.Contains(body, "No events match") {
				t.Errorf("%s=%s: %d", param, payload, res.StatusCode)
			}
		}
		for _, param := range []string{"event", "outcome", "since", "until", "before", "limit"} {
			if res, _ := do(t, c, http.MethodGet, ts.URL+"/audit?"+param+"="+url.QueryEscape(payload), nil); res.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("%s=%s: %d", param, payload, res.StatusCode)
			}
		}
	}
	var n int
	if err := db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM audit_events WHERE code = $1", models.EvRotateStarted).Scan(&n); err != nil || n != 3 {
		t.Fatalf("the trail changed: %d %v", n, err)
	}
	if res, err := db.VerifyAudit(context.Background()); err != nil || !res.OK {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestAuditExportOverHTTP(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ts := newTestServer(t, db, nil)
	seedAudit(t, db, 10)
	c := ts.client(t, gAuditor)
	res, body := ts.post(t, c, "/audit/export.csv", url.Values{"department": {"billing"}, "since": {"2024-05-01"}, "until": {"2024-05-02"}})
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") ||
		res.Header.Get("Content-Disposition") != `attachment; filename="uwsportal-audit-20240501-20240502.csv"` {
		t.Fatalf("%d %v", res.StatusCode, res.Header)
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(recs) != 6 || recs[0][0] != "id" {
		t.Fatalf("%v %d %v", err, len(recs), recs)
	}
	for i, r := range recs[1:] {
		if r[0] != fmt.Sprint(2*i+2) || r[6] != "billing" || r[7] != "'=cmd|' /C calc'!A0" {
			t.Fatalf("row %v", r)
		}
	}
	res, body = ts.post(t, c, "/audit/export.ndjson", url.Values{"outcome": {"failure"}})
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/x-ndjson" || body != "" ||
		!strings.HasPrefix(res.Header.Get("Content-Disposition"), `attachment; filename="uwsportal-audit-begin-`) {
		t.Fatalf("empty export: %d %v %q", res.StatusCode, res.Header, body)
	}
	res, body = ts.post(t, c, "/audit/export.ndjson", url.Values{"department": {"fleet"}})
	if lines := strings.Split(strings.TrimSpace(body), "\n"); res.StatusCode != 200 || len(lines) != 5 || !strings.Contains(lines[0], `"id":1,`) {
		t.Fatalf("ndjson: %d %s", res.StatusCode, body)
	}
	// Each export is itself in the trail.
	_, body = do(t, c, http.MethodGet, ts.URL+"/audit?event=audit.exported", nil)
	if strings.Count(body, "audit.exported</td>") != 3 {
		t.Fatalf("exports not recorded: %s", body)
	}
}

func TestAuditVerifyPage(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ts := newTestServer(t, db, nil)
	seedAudit(t, db, 6)
	c := ts.client(t, gAuditor)
	res, body := ts.post(t, c, "/audit/verify", nil)
	if res.StatusCode != 200 || !strings.Contains(body, "Intact") || !strings.Contains(body, "events verified") {
		t.Fatalf("%d %s", res.StatusCode, body)
	}
	ctx := context.Background()
	for _, stmt := range []string{"ALTER TABLE audit_events DISABLE TRIGGER USER", "DELETE FROM audit_events WHERE id = 4", "ALTER TABLE audit_events ENABLE TRIGGER USER"} {
		if _, err := db.Pool.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	_, body = ts.post(t, c, "/audit/verify", nil)
	if !strings.Contains(body, "Broken") || !strings.Contains(body, `href="/audit/4"`) || !strings.Contains(body, "event 4 is missing") {
		t.Fatalf("%s", body)
	}
}

func TestAuditVerifyPageFromTheCheckpoint(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ts := newTestServer(t, db, nil)
	seedAudit(t, db, 6)
	c := ts.client(t, gAuditor)
	if res, body := ts.post(t, c, "/audit/verify", url.Values{"scope": {"full"}}); res.StatusCode != 200 || !strings.Contains(body, "All ") {
		t.Fatalf("full walk: %d %s", res.StatusCode, body)
	}
	res, body := ts.post(t, c, "/audit/verify", url.Values{"scope": {"new"}})
	if res.StatusCode != 200 || !strings.Contains(body, "Intact") || !strings.Contains(body, "since the last verification") {
		t.Fatalf("walk from the checkpoint: %d %s", res.StatusCode, body)
	}
	events, err := db.SearchAudit(context.Background(), models.AuditFilter{CodePrefix: string(models.EvAuditVerified), Limit: 5}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 || events[0].Detail["full"] != false || events[1].Detail["full"] != true {
		t.Fatalf("the second verification is not recorded as incremental: %+v", events)
	}
	if res, body := ts.post(t, c, "/audit/verify", url.Values{"scope": {"some"}}); res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "whole chain") {
		t.Fatalf("unknown scope: %d %.300s", res.StatusCode, body)
	}
}
