// Package bench reads the standard output of go test -bench, so the
// project's benchmark report can set each figure beside its floor and
// target.
package bench

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// Result is one benchmark line: BenchmarkName-P N value unit value unit …
type Result struct {
	Package string // import path, from the "pkg:" line above it
	Name    string // without the -GOMAXPROCS suffix, sub-benchmarks kept: BenchmarkX/csv
	Procs   int
	N       int64
	// Metrics by unit: ns/op, B/op, allocs/op, MB/s and custom units such
	// as rows/s or p95-ms. Units lists them in the order printed.
	Metrics map[string]float64
	Units   []string
}

// Metric returns the value of unit and whether the line had it.
func (r Result) Metric(unit string) (float64, bool) {
	v, ok := r.Metrics[unit]
	return v, ok
}

// Output is what one or more go test -bench runs printed.
type Output struct {
	Results []Result
	// Failures are "--- FAIL" lines and panics, with the package.
	Failures []string
}

// Parse reads go test -bench output (or test binary output with -test.v
// off). Lines it does not know are skipped.
func Parse(r io.Reader) Output {
	var out Output
	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "pkg: "):
			pkg = strings.TrimSpace(strings.TrimPrefix(line, "pkg: "))
		case strings.HasPrefix(line, "--- FAIL"), strings.HasPrefix(line, "panic:"), strings.HasPrefix(line, "FAIL"):
			out.Failures = append(out.Failures, pkg+": "+strings.TrimSpace(line))
		case strings.HasPrefix(line, "Benchmark"):
			if res, ok := parseLine(line); ok {
				res.Package = pkg
				out.Results = append(out.Results, res)
			}
		}
	}
	return out
}

func parseLine(line string) (Result, bool) {
	f := strings.Fields(line)
	// Name, iterations, then value/unit pairs.
	if len(f) < 4 || len(f)%2 != 0 {
		return Result{}, false
	}
	n, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return Result{}, false
	}
	res := Result{Name: f[0], N: n, Metrics: map[string]float64{}}
	if i := strings.LastIndexByte(res.Name, '-'); i > 0 {
		if p, err := strconv.Atoi(res.Name[i+1:]); err == nil {
			res.Name, res.Procs = res.Name[:i], p
		}
	}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return Result{}, false
		}
		res.Metrics[f[i+1]] = v
		res.Units = append(res.Units, f[i+1])
	}
	return res, true
}
