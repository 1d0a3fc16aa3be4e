package main

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/uwsportal/uwsportal/internal/bench"
)

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

// printf appends to the report being built.
type printf func(format string, a ...any)

func printer(b *strings.Builder) printf {
	return func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
}

// render writes the whole report: what it is, the machine, the failures,
// one table per area, the load run, the targets missed and every figure.
func render(info runInfo) string {
	var b strings.Builder
	p := printer(&b)
	renderIntro(p)
	renderMachine(p, info)
	renderFailures(p, info)
	missed, notRun := renderAreas(p, index(info.Benchmarks.Results))
	missed = append(missed, renderLoad(p, info)...)
	renderMissed(p, missed, notRun)
	renderEveryFigure(p, info)
	return b.String()
}

// renderIntro explains floors and ratios, which every table relies on.
func renderIntro(p printf) {
	p("# Benchmarks\n\n")
	p("`make bench` writes this file (`go run ./internal/bench/cmd/benchreport`). ")
	p("It runs every benchmark of the project, one package at a time, then a load run against the portal. ")
	p("Each figure stands beside its *floor*: the same work done without the portal, such as a bare Echo handler, pgx, Postgres COPY or plain net/http. ")
	p("The *ratio* is the figure's cost in multiples of the floor: time divided by floor time, or floor throughput divided by throughput. ")
	p("1.0× means as fast as the floor. ")
	p("Targets come from the project's issues. A missed target reads **no**.\n\n")
	p("All figures come from one run on one machine. Postgres, the portal and the load generator share its cores, so compare ratios more than absolute numbers across machines.\n\n")
}

// renderMachine says what the figures were measured on and how busy the
// machine was, since other work skews them.
func renderMachine(p printf, info runInfo) {
	m := info.Machine
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
}

// renderFailures lists what failed to build or run, if anything did, near
// the top so a partial report is not mistaken for a full one.
func renderFailures(p printf, info runInfo) {
	if len(info.BenchErrors)+len(info.Benchmarks.Failures) == 0 && info.LoadErr == nil {
		return
	}
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

// renderAreas writes one table per area and returns the labels of the
// targets missed and of the targeted figures not measured.
func renderAreas(p printf, ix index) (missed, notRun []string) {
	for _, a := range areas() {
		p("## %s\n\n", a.title)
		if a.intro != "" {
			p("%s\n\n", a.intro)
		}
		p("| figure | value | floor | ratio | target | met |\n|---|--:|--:|--:|---|---|\n")
		for _, r := range a.rows {
			switch renderRow(p, ix, r) {
			case targetMissed:
				missed = append(missed, r.label)
			case targetNotRun:
				notRun = append(notRun, r.label)
			}
		}
		p("\n")
	}
	return missed, notRun
}

// rowTarget is what one row says about its target.
type rowTarget int

const (
	targetMetOrNone rowTarget = iota
	targetMissed
	targetNotRun
)

// renderRow writes one figure beside its floor, ratio and target.
func renderRow(p printf, ix index, r row) rowTarget {
	v, ok := ix.get(r.value)
	if !ok {
		p("| %s | not run | | | %s | %s |\n", r.label, r.target, ifTarget(r.met, "not run"))
		if r.met != nil {
			return targetNotRun
		}
		return targetMetOrNone
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
	met, result := "–", targetMetOrNone
	if r.met != nil {
		if r.met(v, rt) {
			met = "yes"
		} else {
			met, result = "**no**", targetMissed
		}
	}
	p("| %s | %s | %s | %s | %s | %s |\n", r.label, plain(v, r.value.unit), floorCell, ratioCell, r.target, met)
	return result
}

// renderMissed sums up the targets missed across the areas and the load.
func renderMissed(p printf, missed, notRun []string) {
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
}

// renderEveryFigure lists each benchmark as printed, including the figures
// no area shows, and the time each package took.
func renderEveryFigure(p printf, info runInfo) {
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
}
