package metrics

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.yaml.in/yaml/v3"
)

func all(t *testing.T) []string {
	m := New()
	m.SetBuildInfo("test")
	m.WatchDatabase(nil, nil, nil) // described, never collected here
	names := m.Names()
	if len(names) < 20 || !slices.Contains(names, "uwsportal_build_info") || !slices.Contains(names, "uwsportal_db_pool_connections") {
		t.Fatalf("names: %v", names)
	}
	return names
}

var seriesName = regexp.MustCompile(`\buwsportal_[a-z0-9_]+`)

// known strips a histogram's suffixes.
func known(names []string, n string) bool {
	for _, suf := range []string{"", "_bucket", "_sum", "_count"} {
		if b, ok := strings.CutSuffix(n, suf); ok && slices.Contains(names, b) {
			return true
		}
	}
	return false
}

// Every uwsportal_* name in the sample alert rules is a series the portal
// exports, and every rule parses as Prometheus's rule file shape.
func TestAlertRulesNameRealMetrics(t *testing.T) {
	names := all(t)
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Alert, Expr string
				Labels      map[string]string
			}
		}
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	rules := 0
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			rules++
			if r.Alert == "" || r.Expr == "" || r.Labels["severity"] == "" {
				t.Errorf("rule %+v: alert, expr and a severity label are required", r)
			}
			for _, n := range seriesName.FindAllString(r.Expr, -1) {
				if !known(names, n) {
					t.Errorf("alert %s uses %s, which the portal does not export", r.Alert, n)
				}
			}
		}
	}
	if rules < 10 {
		t.Fatalf("only %d rules", rules)
	}
}

// README's metrics list names every series, and nothing else.
func TestReadmeListsEveryMetric(t *testing.T) {
	names := all(t)
	raw, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	for _, n := range names {
		if !strings.Contains(readme, "`"+n) {
			t.Errorf("README does not list %s", n)
		}
	}
	i := strings.Index(readme, "## Operations")
	if i < 0 {
		t.Fatal("README has no Operations section")
	}
	ops, _, _ := strings.Cut(readme[i:], "## Security")
	for _, n := range seriesName.FindAllString(ops, -1) {
		if !known(names, n) {
			t.Errorf("README names %s, which the portal does not export", n)
		}
	}
}

func TestGatewayCallsByOutcome(t *testing.T) {
	m := New()
	for status, n := range map[string]int{"200": 3, "403": 1, "429": 2, "502": 1, "504": 1, "500": 1} {
		for range n {
			m.GatewayRequests.WithLabelValues("uwsc_1", "suspend", status).Inc()
		}
	}
	m.GatewayRequests.WithLabelValues("uwsc_2", "suspend", "200").Inc()
	want := `
# HELP uwsportal_gateway_calls_total Gateway calls by operation and outcome: ok (2xx), refused (4xx but 429), throttled (429), unknown (502, 504: the outcome upstream is unknown), error (other 5xx).
# TYPE uwsportal_gateway_calls_total counter
uwsportal_gateway_calls_total{operation="suspend",outcome="error"} 1
uwsportal_gateway_calls_total{operation="suspend",outcome="ok"} 4
uwsportal_gateway_calls_total{operation="suspend",outcome="refused"} 1
uwsportal_gateway_calls_total{operation="suspend",outcome="throttled"} 2
uwsportal_gateway_calls_total{operation="suspend",outcome="unknown"} 2
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "uwsportal_gateway_calls_total"); err != nil {
		t.Fatal(err)
	}
}
