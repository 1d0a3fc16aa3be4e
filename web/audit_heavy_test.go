package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// Issue 16.7: verifying and exporting do heavy work and write audit events,
// so a GET (a link, a prefetch, an <img> on another site) must do neither:
// the GET shows a form that posts.
func TestAuditVerifyAndExportNeedAPost(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ts := newTestServer(t, db, nil)
	seedAudit(t, db, 4)
	c := ts.client(t, gAuditor)
	for _, p := range []string{"/audit/verify", "/audit/export.csv?department=fleet", "/audit/export.ndjson"} {
		res, body := do(t, c, http.MethodGet, ts.URL+p, nil)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `method="post"`) || strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
			t.Errorf("GET %s: %d %s, want a page with a form", p, res.StatusCode, res.Header.Get("Content-Disposition"))
		}
	}
	if n := ts.countEvents(t, models.EvAuditVerified) + ts.countEvents(t, models.EvAuditExported); n != 0 {
		t.Fatalf("a GET verified or exported: %d events", n)
	}
	res, body := ts.post(t, c, "/audit/verify", nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "Intact") {
		t.Fatalf("POST /audit/verify: %d %.300s", res.StatusCode, body)
	}
	res, body = ts.post(t, c, "/audit/export.csv", url.Values{"department": {"fleet"}})
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") || !strings.HasPrefix(body, "id,") {
		t.Fatalf("POST /audit/export.csv: %d %s %.200s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	if ts.countEvents(t, models.EvAuditVerified) != 1 || ts.countEvents(t, models.EvAuditExported) != 1 {
		t.Fatal("the posts were not recorded")
	}
}

// Issue 16.7: only a few verifications and exports run at once; the next
// one is told clearly to come back, not queued without limit.
func TestAuditHeavyWorkIsCapped(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ts := newTestServer(t, db, nil)
	seedAudit(t, db, 4)
	c := ts.client(t, gAuditor)
	for range cap(ts.heavy) {
		ts.heavy <- struct{}{} // running elsewhere
	}
	for _, p := range []string{"/audit/verify", "/audit/export.ndjson"} {
		res, body := ts.post(t, c, p, nil)
		if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "Try again") || res.Header.Get("Retry-After") == "" {
			t.Errorf("POST %s while full: %d %.300s", p, res.StatusCode, body)
		}
	}
	<-ts.heavy
	if res, _ := ts.post(t, c, "/audit/verify", nil); res.StatusCode != http.StatusOK {
		t.Fatalf("with a free slot: %d", res.StatusCode)
	}
}
