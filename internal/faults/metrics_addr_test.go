package faults

import (
	"net/http"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/testdb"
)

// With UWSPORTAL_METRICS_ADDR the metrics leave the public listener.
func TestMetricsOnASeparateAddress(t *testing.T) {
	t.Parallel()
	maddr := freeAddr(t)
	p := startPortal(t, map[string]string{"DATABASE_URL": testdb.URL(t), "UWSPORTAL_METRICS_ADDR": maddr})
	if status, _, err := fetch(browser(), http.MethodGet, p.URL+"/metrics", nil); err != nil || status != http.StatusNotFound {
		t.Fatalf("metrics on the public listener: %d %v", status, err)
	}
	status, body, err := fetch(browser(), http.MethodGet, "http://"+maddr+"/metrics", nil)
	if err != nil || status != 200 || !strings.Contains(body, "uwsportal_http_requests_total") {
		t.Fatalf("metrics listener: %d %v", status, err)
	}
}
