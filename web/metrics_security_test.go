package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/testdb"
)

// scrape reads the metrics straight from the handler, whichever listener
// would serve them.
func scrape(t *testing.T, ts *testServer) string {
	t.Helper()
	rec := httptest.NewRecorder()
	ts.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: %d", rec.Code)
	}
	return rec.Body.String()
}

// Issue 16.1: a portal listening on every interface must not hand its
// metrics to anyone who asks on the public listener.
func TestMetricsAreNotPublicOnAnOpenListener(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testdb.New(t), map[string]string{"UWSPORTAL_ADDR": "0.0.0.0:8080"})
	res, body := do(t, anonClient(), http.MethodGet, ts.URL+"/metrics", nil)
	if res.StatusCode != http.StatusNotFound || strings.Contains(body, "uwsportal_http_requests_total") {
		t.Fatalf("metrics on a public listener: %d %.200s", res.StatusCode, body)
	}
	// On a loopback listener (the default) they stay where they were.
	lo := newTestServer(t, testdb.New(t), nil)
	if res, _ := do(t, anonClient(), http.MethodGet, lo.URL+"/metrics", nil); res.StatusCode != http.StatusOK {
		t.Fatalf("metrics on the loopback listener: %d", res.StatusCode)
	}
}

// Issue 16.1: made-up methods and paths must not mint series. Each
// distinct 60 KB method used to pin its own label value.
func TestMetricLabelsComeFromAFixedSet(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testdb.New(t), nil)
	c := anonClient()
	methods := []string{"BREW" + strings.Repeat("X", 4096), "PROPFIND", "ZZZ1", "ZZZ2"}
	for _, m := range methods {
		req, err := http.NewRequest(m, ts.URL+"/healthz", nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if err := res.Body.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"/no-such-page-1", "/no-such-page-2/" + strings.Repeat("y", 300)} {
		do(t, c, http.MethodGet, ts.URL+p, nil)
	}
	body := scrape(t, ts)
	for _, bad := range []string{"BREW", "PROPFIND", "ZZZ1", "no-such-page"} {
		if strings.Contains(body, bad) {
			t.Errorf("a made-up label value %q reached the metrics", bad)
		}
	}
	if !strings.Contains(body, `method="OTHER"`) {
		t.Error(`unknown methods are not counted as method="OTHER"`)
	}
	if !strings.Contains(body, `route="unmatched"`) {
		t.Error(`unknown paths are not counted as route="unmatched"`)
	}
}
