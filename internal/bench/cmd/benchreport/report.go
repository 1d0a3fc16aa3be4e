package main

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/uwsportal/uwsportal/internal/bench"
)

const (
	pkgStore      = "/internal/store"
	pkgWeb        = "/web"
	pkgThingSpace = "/internal/thingspace"
	pkgService    = "/internal/service"
	pkgTestDB     = "/internal/testdb"
	pkgSecret     = "/internal/secret"
	pkgModels     = "/models"
)

// ref names one figure: a unit of a benchmark in a package (by suffix of
// its import path).
type ref struct {
	pkg, bench, unit string
}

// row is one line of an area's table.
type row struct {
	label string
	value ref
	// floor is what the same work costs without the portal, if measured.
	floor     *ref
	floorNote string
	target    string
	// met decides the target from the value and the ratio to the floor
	// (NaN without a floor); nil means the figure has no target.
	met func(v, ratio float64) bool
}

type area struct {
	title, intro string
	rows         []row
}

func areas() []area {
	lt := func(limit float64) func(v, _ float64) bool { return func(v, _ float64) bool { return v < limit } }
	ge := func(limit float64) func(v, _ float64) bool { return func(v, _ float64) bool { return v >= limit } }
	copyFloor := &ref{pkgStore, "BenchmarkAuditExportCopy", "rows/s"}
	copyRSS := &ref{pkgStore, "BenchmarkAuditExportCopy", "peak-rss-MB"}
	return []area{
		{
			title: "Audit trail (1,000,000 seeded events)",
			intro: "The seeded trail spans a year: 200 actors, 20 departments. The filtered page is one actor in one department over the last 30 days. " +
				"Exports stream the whole trail. The COPY floor is the same columns, in id order, written by `COPY (SELECT …) TO STDOUT (FORMAT csv)`. Only the client counts the bytes. " +
				"Peak RSS is sampled every 50 ms. Over HTTP it covers the server and the client, which share one process.",
			rows: []row{
				{label: "Filtered first page over HTTP, p95", value: ref{pkgWeb, "BenchmarkAuditPageHTTP", "http-p95-ms"},
					floor: &ref{pkgWeb, "BenchmarkAuditPageHTTP", "sql-p95-ms"}, floorNote: "same query through pgx",
					target: "< 50 ms and ≤ 2× pgx", met: func(v, r float64) bool { return v < 50 && r <= 2 }},
				{label: "Filtered first page in the store, p95", value: ref{pkgStore, "BenchmarkAuditSearchFilteredPage", "p95-ms"}},
				{label: "Free-text search page, p95", value: ref{pkgStore, "BenchmarkAuditSearchTextPage", "p95-ms"}},
				{label: "Export through the store (decode only)", value: ref{pkgStore, "BenchmarkAuditExportRows", "rows/s"},
					floor: copyFloor, floorNote: "COPY TO", target: "≥ 100,000 rows/s", met: ge(100_000)},
				{label: "Export CSV over HTTP", value: ref{pkgWeb, "BenchmarkAuditExportHTTP/csv", "rows/s"},
					floor: copyFloor, floorNote: "COPY TO", target: "≥ 100,000 rows/s", met: ge(100_000)},
				{label: "Export NDJSON over HTTP", value: ref{pkgWeb, "BenchmarkAuditExportHTTP/ndjson", "rows/s"},
					floor: copyFloor, floorNote: "COPY TO", target: "≥ 100,000 rows/s", met: ge(100_000)},
				{label: "Peak RSS, export through the store", value: ref{pkgStore, "BenchmarkAuditExportRows", "peak-rss-MB"},
					floor: copyRSS, floorNote: "COPY TO", target: "< 100 MB", met: lt(100)},
				{label: "Peak RSS, CSV over HTTP", value: ref{pkgWeb, "BenchmarkAuditExportHTTP/csv", "peak-rss-MB"},
					floor: copyRSS, floorNote: "COPY TO", target: "< 100 MB", met: lt(100)},
				{label: "Peak RSS, NDJSON over HTTP", value: ref{pkgWeb, "BenchmarkAuditExportHTTP/ndjson", "peak-rss-MB"},
					floor: copyRSS, floorNote: "COPY TO", target: "< 100 MB", met: lt(100)},
				{label: "Verify the whole chain", value: ref{pkgStore, "BenchmarkAuditVerify", "s/verify"}, target: "< 10 s", met: lt(10)},
				{label: "Audited writes, 8 writers (store writer, group commit)", value: ref{pkgStore, "BenchmarkAuditConcurrentWrites", "writes/s"},
					floor: &ref{pkgStore, "BenchmarkAuditConcurrentWritesPgx", "writes/s"}, floorNote: "one pgx transaction per event",
					target: "≥ 2,000 writes/s", met: ge(2000)},
			},
		},
		{
			title: "Web: the dashboard through the whole stack",
			intro: "The dashboard is `GET /` for a signed-in admin with 5 departments and credentials, served in process with no sockets. " +
				"The request passes request ID, access log, recover, security headers, the session from Postgres, the principal, CSRF and authorisation. " +
				"The floor is a bare Echo router whose one handler writes the same page from memory. " +
				"So the ratio is the whole cost of the portal's middleware, database reads and template.",
			rows: []row{
				{label: "Dashboard, mean per request", value: ref{pkgWeb, "BenchmarkDashboardHandler", "ns/op"},
					floor: &ref{pkgWeb, "BenchmarkBareEchoHandler", "ns/op"}, floorNote: "bare Echo"},
				{label: "Dashboard, p95", value: ref{pkgWeb, "BenchmarkDashboardHandler", "p95-ms"},
					floor: &ref{pkgWeb, "BenchmarkBareEchoHandler", "p95-ms"}, floorNote: "bare Echo"},
				{label: "Dashboard, allocations per request", value: ref{pkgWeb, "BenchmarkDashboardHandler", "allocs/op"},
					floor: &ref{pkgWeb, "BenchmarkBareEchoHandler", "allocs/op"}, floorNote: "bare Echo"},
			},
		},
		{
			title: "ThingSpace client (against the simulator on loopback)",
			intro: "The floor makes the same HTTP exchanges with plain net/http: JSON encoding, headers, reading and decoding.",
			rows: []row{
				{label: "Login and logout", value: ref{pkgThingSpace, "BenchmarkClientLogin", "ns/op"},
					floor: &ref{pkgThingSpace, "BenchmarkBareHTTPLogin", "ns/op"}, floorNote: "bare net/http",
					target: "≤ 1.2× bare", met: func(_, r float64) bool { return r <= 1.2 }},
				{label: "Authenticated call (device list)", value: ref{pkgThingSpace, "BenchmarkClientCall", "ns/op"},
					floor: &ref{pkgThingSpace, "BenchmarkBareHTTPCall", "ns/op"}, floorNote: "bare net/http",
					target: "≤ 1.2× bare", met: func(_, r float64) bool { return r <= 1.2 }},
			},
		},
		{
			title: "Rotation (against the simulator on loopback)",
			intro: "One rotation is a reset, a login with the new password, then a logout. " +
				"Each iteration also makes the same upstream round trips with the bare backend, so the portal's added time is measured in pairs under the same load.",
			rows: []row{
				{label: "Rotation, p95", value: ref{pkgService, "BenchmarkRotation", "total-p95-ms"},
					floor: &ref{pkgService, "BenchmarkRotation", "bare-p95-ms"}, floorNote: "bare round trips"},
				{label: "Portal's added time per rotation, p95", value: ref{pkgService, "BenchmarkRotation", "added-p95-ms"},
					target: "< 10 ms", met: lt(10)},
				{label: "Portal's added time per rotation, p50", value: ref{pkgService, "BenchmarkRotation", "added-p50-ms"}},
				{label: "Scheduler pass over 100 due credentials", value: ref{pkgService, "BenchmarkSchedulerPass100", "ns/op"}},
			},
		},
		{
			title: "Other",
			rows: []row{
				{label: "Test database creation (clone of the template)", value: ref{pkgTestDB, "BenchmarkNewDatabase", "ns/op"},
					target: "well under 200 ms", met: lt(200e6)},
				{label: "Password policy check, typical password (zxcvbn)", value: ref{pkgModels, "BenchmarkCheckPassword/typical", "ns/op"}},
				{label: "Password policy check, worst case (l33t)", value: ref{pkgModels, "BenchmarkCheckPassword/l33t_worst_case", "ns/op"}},
				{label: "Seal a secret (AES-256-GCM)", value: ref{pkgSecret, "BenchmarkSeal", "ns/op"}},
				{label: "Open a secret", value: ref{pkgSecret, "BenchmarkOpen", "ns/op"}},
			},
		},
	}
}

// index finds results by package suffix and name.
type index []bench.Result

func (ix index) get(r ref) (float64, bool) {
	for _, res := range ix {
		if res.Name == r.bench && strings.HasSuffix(res.Package, r.pkg) {
			return res.Metric(r.unit)
		}
	}
	return 0, false
}

// higherIsBetter: throughputs. Their ratio to the floor is inverted so
// that a ratio always reads "times the floor's cost".
func higherIsBetter(unit string) bool {
	return strings.HasSuffix(unit, "/s") && unit != "ns/op"
}

func ratio(v, floor float64, unit string) float64 {
	if v == 0 || floor == 0 {
		return math.NaN()
	}
	if higherIsBetter(unit) {
		return floor / v
	}
	return v / floor
}

func render(info runInfo) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	ix := index(info.Benchmarks.Results)
	m := info.Machine

	p("# Benchmarks\n\n")
	p("`make bench` writes this file (`go run ./internal/bench/cmd/benchreport`). ")
	p("It runs every benchmark of the project, one package at a time, then a load run against the portal. ")
	p("Each figure stands beside its *floor*: the same work done without the portal, such as a bare Echo handler, pgx, Postgres COPY or plain net/http. ")
	p("The *ratio* is the figure's cost in multiples of the floor: time divided by floor time, or floor throughput divided by throughput. ")
	p("1.0× means as fast as the floor. ")
	p("Targets come from the project's issues. A missed target reads **no**.\n\n")
	p("All figures come from one run on one machine. Postgres, the portal and the load generator share its cores, so compare ratios more than absolute numbers across machines.\n\n")

	p("## Machine\n\n")
	p("| | |\n|---|---|\n")
	p("| date | %s |\n", info.Started.UTC().Format("2006-01-02 15:04 MST"))
	p("| CPU | %s |\n", orUnknown(m.CPU))
	p("| cores | %d |\n", m.Cores)
	p("| RAM | %.1f GiB |\n", m.RAMGiB)
	p("| OS | %s (Linux %s) |\n", orUnknown(m.OS), orUnknown(m.Kernel))
	p("| Go | %s |\n", m.Go)
	p("| PostgreSQL | %s (%s) |\n", orUnknown(pgShort(m.Postgres)), m.PostgresSource)
	p("| run time | %s |\n", info.Ended.Sub(info.Started).Round(time.Second))
	p("| load average (1, 5, 15 min) | %s at the start, %s at the end |\n\n", info.LoadAvgStart, info.LoadAvgEnd)

	if len(info.BenchErrors)+len(info.Benchmarks.Failures) > 0 || info.LoadErr != nil {
		p("## Failures\n\n")
		for _, e := range info.BenchErrors {
			p("- %s\n", mdEscape(e))
		}
		for _, e := range info.Benchmarks.Failures {
			p("- %s\n", mdEscape(e))
		}
		if info.LoadErr != nil {
			p("- load: %s\n", mdEscape(info.LoadErr.Error()))
		}
		p("\n")
	}

	var missed, notRun []string
	for _, a := range areas() {
		p("## %s\n\n", a.title)
		if a.intro != "" {
			p("%s\n\n", a.intro)
		}
		p("| figure | value | floor | ratio | target | met |\n|---|--:|--:|--:|---|---|\n")
		for _, r := range a.rows {
			v, ok := ix.get(r.value)
			if !ok {
				p("| %s | not run | | | %s | %s |\n", r.label, r.target, ifTarget(r.met, "not run"))
				if r.met != nil {
					notRun = append(notRun, r.label)
				}
				continue
			}
			floorCell, ratioCell, rt := "", "", math.NaN()
			if r.floor != nil {
				if fv, ok := ix.get(*r.floor); ok {
					rt = ratio(v, fv, r.value.unit)
					floorCell = plain(fv, r.floor.unit) + " (" + r.floorNote + ")"
					ratioCell = fmt.Sprintf("%.2f×", rt)
				} else {
					floorCell = "not run (" + r.floorNote + ")"
				}
			}
			met := "–"
			if r.met != nil {
				if r.met(v, rt) {
					met = "yes"
				} else {
					met = "**no**"
					missed = append(missed, r.label)
				}
			}
			p("| %s | %s | %s | %s | %s | %s |\n", r.label, plain(v, r.value.unit), floorCell, ratioCell, r.target, met)
		}
		p("\n")
	}

	missed = append(missed, renderLoad(&b, info)...)

	p("## Targets missed\n\n")
	if len(missed) == 0 {
		p("None.\n\n")
	} else {
		for _, s := range missed {
			p("- %s\n", s)
		}
		p("\n")
	}
	if len(notRun) > 0 {
		p("Not measured in this run: %s.\n\n", strings.Join(notRun, "; "))
	}

	p("## Every figure\n\n")
	p("Each benchmark as `go test -bench` printed it.\n\n")
	p("| package | benchmark | runs | figures |\n|---|---|--:|---|\n")
	for _, r := range info.Benchmarks.Results {
		var figs []string
		for _, u := range r.Units {
			figs = append(figs, format(r.Metrics[u], u))
		}
		p("| %s | %s | %d | %s |\n", shortPkg(r.Package), r.Name, r.N, strings.Join(figs, " · "))
	}
	if len(info.PerPackage) > 0 {
		p("\nTime per package, including the build and seeding: ")
		var parts []string
		for _, t := range info.PerPackage {
			parts = append(parts, fmt.Sprintf("%s %s", shortPkg(t.ImportPath), t.Elapsed.Round(time.Second)))
		}
		p("%s.\n", strings.Join(parts, ", "))
	}
	return b.String()
}

func renderLoad(b *strings.Builder, info runInfo) []string {
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	p("## Load\n\n")
	if info.Load == nil {
		p("Not run.\n\n")
		return nil
	}
	l := info.Load
	p("The portal runs in process (`uwsportal serve`, its database pool of 20 connections, the scheduler off) on a database of its own. ")
	p("That database holds %s audit events and 20 departments with credentials. ", thousands(float64(l.Events)))
	p("A break-glass admin signs in once through `POST /login/local`. ")
	p("Then %d keep-alive connections share that session and send requests for %s per endpoint, one endpoint after the other. ", l.Conns, l.Duration)
	p("They ask for gzip as a browser does. ")
	p("Every status other than 200 and every transport error counts as an error.\n\n")
	p("| endpoint | requests | req/s | p50 | p99 | max | errors | peak DB connections | target | met |\n|---|--:|--:|--:|--:|--:|--:|--:|---|---|\n")
	var missed []string
	for _, e := range l.Endpoints {
		met := "yes"
		if e.Errors > 0 {
			met = "**no**"
			missed = append(missed, fmt.Sprintf("load, %s: %d errors", e.Name, e.Errors))
		}
		p("| %s `%s` | %s | %s | %s | %s | %s | %d | %d of 20 | 0 errors | %s |\n", e.Name, mdEscape(e.Path), thousands(float64(e.Requests)),
			thousands(e.RPS()), dur(e.P50), dur(e.P99), dur(e.Max), e.Errors, e.PeakDBConns, met)
	}
	p("\n")
	for _, e := range l.Endpoints {
		if e.Errors == 0 {
			continue
		}
		var st []string
		for _, code := range slices.Sorted(maps.Keys(e.Statuses)) {
			st = append(st, fmt.Sprintf("%d × %d", e.Statuses[code], code))
		}
		p("%s: %d transport errors; statuses %s; first: %s\n\n", e.Name, e.TransportErrors, strings.Join(st, ", "), mdEscape(e.FirstError))
	}
	if info.LoadErr != nil {
		p("The load run failed: %s\n\n", mdEscape(info.LoadErr.Error()))
		missed = append(missed, "load: "+info.LoadErr.Error())
	}
	if l.ServerErrorCount > 0 {
		p("The portal logged %d errors during the load; the first:\n\n", l.ServerErrorCount)
		for _, s := range l.ServerErrors {
			p("    %s\n", s)
		}
		p("\n")
	}
	return missed
}

// plain is format without the unit's qualifier, for tables whose label
// already says what the figure is.
func plain(v float64, unit string) string {
	switch {
	case strings.HasSuffix(unit, "-ms"):
		return ms(v)
	case strings.HasSuffix(unit, "-MB"):
		return trim(v, 1) + " MB"
	}
	return format(v, unit)
}

// ms prints milliseconds, switching to seconds from 1000 ms and keeping
// three decimals for sub-0.1 ms figures.
func ms(v float64) string {
	switch {
	case v >= 1000:
		return trim(v/1000, 2) + " s"
	case v < 0.1:
		return trim(v, 3) + " ms"
	}
	return trim(v, 2) + " ms"
}

// format prints a value in its unit, readably.
func format(v float64, unit string) string {
	switch {
	case unit == "ns/op":
		return dur(time.Duration(v)) + "/op"
	case unit == "B/op":
		return bytesStr(v) + "/op"
	case unit == "allocs/op":
		return thousands(v) + " allocs/op"
	case strings.HasSuffix(unit, "-ms"):
		return ms(v) + qualifier(strings.TrimSuffix(unit, "-ms"))
	case strings.HasSuffix(unit, "-MB"), unit == "MB":
		return trim(v, 1) + " MB" + qualifier(strings.TrimSuffix(strings.TrimSuffix(unit, "MB"), "-"))
	case unit == "s/verify":
		return trim(v, 2) + " s"
	case strings.HasSuffix(unit, "/s"):
		return thousands(v) + " " + unit
	}
	return trim(v, 3) + " " + unit
}

// qualifier turns the prefix of a custom unit (p95, http-p95, peak-rss)
// into a short note, except where the row's label says it already.
func qualifier(prefix string) string {
	switch prefix {
	case "", "p95", "p50", "peak-rss":
		return ""
	}
	return " (" + prefix + ")"
}

func dur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return trim(d.Seconds(), 2) + " s"
	case d >= time.Millisecond:
		return trim(float64(d)/1e6, 2) + " ms"
	case d >= time.Microsecond:
		return trim(float64(d)/1e3, 1) + " µs"
	}
	return strconv.FormatInt(int64(d), 10) + " ns"
}

func bytesStr(v float64) string {
	switch {
	case v >= 1<<30:
		return trim(v/(1<<30), 2) + " GiB"
	case v >= 1<<20:
		return trim(v/(1<<20), 1) + " MiB"
	case v >= 1<<10:
		return trim(v/(1<<10), 1) + " KiB"
	}
	return strconv.FormatFloat(v, 'f', 0, 64) + " B"
}

func trim(v float64, prec int) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// thousands rounds to an integer with comma separators.
func thousands(v float64) string {
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

func ifTarget(met func(float64, float64) bool, s string) string {
	if met == nil {
		return "–"
	}
	return s
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// pgShort keeps "PostgreSQL 17.2 (Debian …)" to its name and version.
func pgShort(v string) string {
	f := strings.Fields(v)
	if len(f) >= 2 {
		return f[0] + " " + f[1]
	}
	return v
}

func shortPkg(ip string) string {
	if i := strings.LastIndex(ip, "/uwsportal/"); i >= 0 {
		if rest := ip[i+len("/uwsportal/"):]; rest != "" {
			return rest
		}
	}
	return ip
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
