package app_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/models"
)

// The database-wide series are read from the real schema at each scrape:
// credentials by state, the notification backlog, the pool.
func TestScrapeReadsTheDatabase(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{})
	e.Seed("fleet", "fleet-uws", models.ProtocolREST)
	e.Seed("field-ops", "field-uws", models.ProtocolSOAP)
	reg := e.App.Metrics.Registry
	want := `
# HELP uwsportal_credentials Credentials by rotation state (idle, resetting, verifying, unknown, attention, quarantined).
# TYPE uwsportal_credentials gauge
uwsportal_credentials{state="idle"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "uwsportal_credentials"); err != nil {
		t.Fatal(err)
	}
	n, err := testutil.GatherAndCount(reg, "uwsportal_notification_backlog", "uwsportal_notification_oldest_pending_seconds",
		"uwsportal_db_pool_connections", "uwsportal_db_pool_max_connections")
	if err != nil || n != 10 { // 1 + 1 + 2 pools × (3 states + 1)
		t.Fatalf("series: %d %v", n, err)
	}
	// The group commits' own pool is reported beside the requests'.
	if v := value(t, reg, "uwsportal_db_pool_max_connections", "pool", "commits"); v != 2 {
		t.Fatalf("the commits pool's size: %v, want 2", v)
	}
	// An event that notifies (a rotation) leaves the outbox waiting for the worker.
	if _, err := e.App.Rotation.Rotate(t.Context(), e.Admin, apptest.Meta, "fleet", models.TriggerManual); err != nil {
		t.Fatal(err)
	}
	if v := value(t, reg, "uwsportal_notification_backlog"); v < 1 {
		t.Fatalf("backlog after a rotation: %v", v)
	}
}

func value(t *testing.T, reg *prometheus.Registry, name string, label ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		var found []float64
		for _, m := range mf.GetMetric() {
			if len(label) == 2 && !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool {
				return l.GetName() == label[0] && l.GetValue() == label[1]
			}) {
				continue
			}
			found = append(found, m.GetGauge().GetValue())
		}
		if len(found) == 1 {
			return found[0]
		}
	}
	t.Fatalf("no single series %s %v", name, label)
	return 0
}
