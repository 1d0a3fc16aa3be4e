package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"testing"

	"github.com/uwsportal/uwsportal/models"
)

// metric reads one series' value from a /metrics scrape (0 when absent).
func metric(t *testing.T, ts *testServer, series string) float64 {
	t.Helper()
	_, body := do(t, anonClient(), http.MethodGet, ts.URL+"/metrics", nil)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` ([0-9.e+-]+)$`).FindStringSubmatch(body)
	if m == nil {
		return 0
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("%s: %v", series, err)
	}
	return v
}

func TestMetricsMoveWithTheWork(t *testing.T) {
	t.Parallel()
	ts, _ := newTSimServer(t)
	admin := ts.client(t, models.Grant{Role: models.RoleAdmin})
	series := []string{
		`uwsportal_rotations_total{result="rotated"}`,
		`uwsportal_upstream_logins_total{result="ok"}`,
		`uwsportal_audit_writes_total`,
		`uwsportal_http_requests_total{method="POST",route="/departments/:slug/rotate",status="303"}`,
	}
	before := map[string]float64{}
	for _, s := range series {
		before[s] = metric(t, ts, s)
	}
	ts.post(t, admin, "/departments/fleet/credential", url.Values{"username": {fleetUser}, "password": {fleetPassword}})
	res, _ := ts.post(t, admin, "/departments/fleet/rotate", nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("rotate: %d", res.StatusCode)
	}
	followRotation(t, ts, admin, res)
	for _, s := range series {
		if after := metric(t, ts, s); after <= before[s] {
			t.Errorf("%s did not move: %v → %v", s, before[s], after)
		}
	}
	if v := metric(t, ts, `uwsportal_credential_age_seconds{department="fleet"}`); v < 0 {
		t.Errorf("credential age: %v", v)
	}
	if metric(t, ts, `uwsportal_audit_write_failures_total`) != 0 {
		t.Error("audit write failures without a failure")
	}
}
