package web

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// An auditor who cancels a long export (closes the tab, stops the
// download) leaves a short file behind: the export is recorded as
// interrupted, and the portal logs no error, since it did nothing wrong.
func TestAnExportTheAuditorStoppedIsRecordedAndIsNotAnError(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	if err := testdb.SeedAudit(context.Background(), db, 200_000); err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, db, nil)
	c := ts.client(t, gAuditor)
	req, err := http.NewRequest(http.MethodPost, ts.URL+"/audit/export.ndjson", strings.NewReader("csrf_token="+ts.csrf(t, c)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("export: %d", res.StatusCode)
	}
	if _, err := io.ReadFull(res.Body, make([]byte, 64<<10)); err != nil {
		t.Fatal(err)
	}
	if err := res.Body.Close(); err != nil { // the auditor stops it
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for ts.countOutcome(t, models.EvAuditExported, models.OutcomeFailure) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stopped export was not recorded as interrupted")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if logs := ts.Logs.String(); strings.Contains(logs, `"level":"ERROR"`) {
		t.Fatalf("a stopped export was logged as an error:\n%s", logs)
	}
}

func (ts *testServer) countOutcome(t *testing.T, code string, outcome models.Outcome) int {
	t.Helper()
	var n int
	if err := ts.DB.Pool.QueryRow(context.Background(), "SELECT count(*) FROM audit_events WHERE code = $1 AND outcome = $2", code, string(outcome)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
