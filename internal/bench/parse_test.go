package bench

import (
	"strings"
	"testing"
)

const sample = `goos: linux
goarch: amd64
pkg: github.com/uwsportal/uwsportal/internal/store
cpu: AMD EPYC
BenchmarkAuditSearchFilteredPage-2    	       1	    519357 ns/op	         0.5170 p95-ms	   61632 B/op	     807 allocs/op
--- BENCH: BenchmarkAuditSearchFilteredPage-2
    audit_bench_test.go:39: seeded 1000000 audit events in 18.374s
BenchmarkAuditExportRows-2            	       1	3740576868 ns/op	        21.20 peak-heap-MB	        40.85 peak-rss-MB	    267339 rows/s	1944185864 B/op	36001025 allocs/op
PASS
pkg: github.com/uwsportal/uwsportal/web
BenchmarkAuditExportHTTP/csv-2         	       1	8074310951 ns/op	       333.4 MB	        48.87 peak-rss-MB	    123850 rows/s	2561704440 B/op	51019482 allocs/op
BenchmarkDashboardHandler-2   	     975	   1138105 ns/op	   2.28 MB/s	         1.462 p95-ms	   88516 B/op	    1234 allocs/op
--- FAIL: BenchmarkBroken-2
FAIL
`

func TestParse(t *testing.T) {
	out := Parse(strings.NewReader(sample))
	if len(out.Results) != 4 {
		t.Fatalf("got %d results: %+v", len(out.Results), out.Results)
	}
	r := out.Results[1]
	if r.Name != "BenchmarkAuditExportRows" || r.Procs != 2 || r.N != 1 || r.Package != "github.com/uwsportal/uwsportal/internal/store" {
		t.Fatalf("%+v", r)
	}
	if v, ok := r.Metric("rows/s"); !ok || v != 267339 {
		t.Fatalf("rows/s = %v %v", v, ok)
	}
	if got := strings.Join(r.Units, " "); got != "ns/op peak-heap-MB peak-rss-MB rows/s B/op allocs/op" {
		t.Fatalf("units %q", got)
	}
	if r := out.Results[2]; r.Name != "BenchmarkAuditExportHTTP/csv" || r.Package != "github.com/uwsportal/uwsportal/web" {
		t.Fatalf("%+v", r)
	}
	if v, _ := out.Results[3].Metric("MB/s"); v != 2.28 {
		t.Fatalf("MB/s = %v", v)
	}
	if len(out.Failures) != 2 {
		t.Fatalf("failures %q", out.Failures)
	}
}
