package faults

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/testdb"
)

// The database goes away while the portal serves (what a PostgreSQL restart
// looks like from the portal: every connection cut, new ones refused for a
// while). Requests fail cleanly, and the portal recovers by itself.
func TestDatabaseRestartWhileServing(t *testing.T) {
	t.Parallel()
	proxy, dsn := testdb.NewProxy(t, testdb.URL(t))
	p := startPortal(t, map[string]string{"DATABASE_URL": dsn})
	c := browser()
	p.signInBreakGlass(t, c)
	if status, _, err := fetch(c, http.MethodGet, p.URL+"/admin/users", nil); err != nil || status != 200 {
		t.Fatalf("before: %d %v", status, err)
	}

	proxy.Down()
	start := time.Now()
	status, body, err := fetch(c, http.MethodGet, p.URL+"/admin/users", nil)
	if err != nil || status < 500 || !strings.Contains(body, "Request ID") || strings.Contains(body, "dial") || strings.Contains(body, "127.0.0.1") {
		t.Fatalf("while down: %d %v %.400s", status, err, body)
	}
	if time.Since(start) > 15*time.Second {
		t.Fatalf("a request hung for %v while the database was down", time.Since(start))
	}
	if status, _, err := fetch(c, http.MethodGet, p.URL+"/readyz", nil); err != nil || status != 503 {
		t.Fatalf("readyz while down: %d %v", status, err)
	}
	if status, _, err := fetch(c, http.MethodGet, p.URL+"/healthz", nil); err != nil || status != 200 {
		t.Fatalf("healthz while down: %d %v", status, err)
	}

	proxy.Up()
	deadline := time.Now().Add(20 * time.Second)
	for {
		// Errors are expected until the database is back.
		if status, _, err := fetch(c, http.MethodGet, p.URL+"/admin/users", nil); err == nil && status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("did not recover: last status %d", status)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if strings.Contains(p.Logs.String(), `"level":"ERROR","msg":"panic"`) {
		t.Fatal("the portal panicked")
	}
}
