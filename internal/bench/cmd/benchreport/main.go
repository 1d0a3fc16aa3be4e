// Command benchreport is what `make bench` runs: every benchmark of the
// project, one package at a time (so no two compete for the two cores),
// then the load run against a portal started in process, and it rewrites
// BENCHMARKS.md with each figure beside its floor and the project's target.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/uwsportal/uwsportal/internal/bench"
	"github.com/uwsportal/uwsportal/internal/bench/load"
	"github.com/uwsportal/uwsportal/internal/devdb"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

// benchtimes holds the -benchtime of benchmarks that must not run for the
// default second: the 1M-row ones take seconds per iteration, and the
// latency ones need enough samples for a p95. Everything else gets "1s".
var benchtimes = map[string]string{
	"BenchmarkAuditSearchFilteredPage":  "300x",
	"BenchmarkAuditSearchTextPage":      "50x",
	"BenchmarkAuditVerifyIncremental":   "20x",
	"BenchmarkAuditExportRows":          "1x",
	"BenchmarkAuditExportCopy":          "1x",
	"BenchmarkAuditVerify":              "1x",
	"BenchmarkAuditConcurrentWrites":    "3x",
	"BenchmarkAuditConcurrentWritesPgx": "3x",
	"BenchmarkAuditPageHTTP":            "300x",
	"BenchmarkAuditExportHTTP":          "1x",
	"BenchmarkRotation":                 "200x",
	"BenchmarkSchedulerPass100":         "5x",
	"BenchmarkNewDatabase":              "30x",
	"BenchmarkCallbacksRecorded":        "2000x",
	"BenchmarkCallbacksRecordedPgx":     "2000x",
	"BenchmarkStatusCallsPerRequest":    "1x",
	// Latency pairs: a fixed count, so a p95 is read from the same
	// thousands of warm samples in every run rather than from the few
	// hundred one second allows.
	"BenchmarkDevicesPage":         "2000x",
	"BenchmarkGatewayAddedLatency": "3000x",
	"BenchmarkGatewayConcurrent":   "1x",
}

// pkgBenchmarks is one package and the benchmark functions its tests define.
type pkgBenchmarks struct {
	Dir, ImportPath string
	Names           []string
}

type runInfo struct {
	Started, Ended time.Time
	Benchmarks     bench.Output
	BenchErrors    []string
	Load           *load.Result
	LoadErr        error
	Machine        machine
	// LoadAvg is /proc/loadavg at the start and the end: other work on the
	// machine skews the figures.
	LoadAvgStart, LoadAvgEnd string
	PerPackage               []pkgTime
}

type pkgTime struct {
	ImportPath string
	Elapsed    time.Duration
}

// options are the command-line flags.
type options struct {
	out, benchRE    string
	noBench, noLoad bool
	load            load.Options // Conns, Duration and Events only
}

// parseFlags reads the flags; UWSPORTAL_LOAD_DURATION, if set, is the
// default of -load-duration (a short run while developing).
func parseFlags(args []string, getenv func(string) string) (options, error) {
	var o options
	duration := 30 * time.Second
	if v := getenv("UWSPORTAL_LOAD_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return o, fmt.Errorf("UWSPORTAL_LOAD_DURATION=%q is not a positive duration such as 10s", v)
		}
		duration = d
	}
	only, conns := "", "50,200"
	fl := flag.NewFlagSet("benchreport", flag.ContinueOnError)
	fl.StringVar(&o.out, "out", "BENCHMARKS.md", "report to rewrite, relative to the repository root")
	fl.StringVar(&o.benchRE, "bench", "", "run only the benchmarks whose name matches this regexp (default all)")
	fl.StringVar(&only, "only", "", "run only the benchmarks (bench) or only the load (load)")
	fl.BoolVar(&o.noBench, "no-bench", false, "skip the benchmarks (load only)")
	fl.BoolVar(&o.noLoad, "no-load", false, "skip the load run")
	fl.StringVar(&conns, "conns", conns, "load: concurrent connections, each in turn (comma-separated)")
	fl.DurationVar(&o.load.Duration, "load-duration", duration, "load: duration per endpoint and concurrency (default: UWSPORTAL_LOAD_DURATION, else 30s)")
	fl.IntVar(&o.load.Events, "load-events", 100_000, "load: seeded audit events")
	if err := fl.Parse(args[1:]); err != nil {
		return o, err
	}
	switch only {
	case "":
	case "load":
		o.noBench = true
	case "bench":
		o.noLoad = true
	default:
		return o, fmt.Errorf("-only %q: want bench or load", only)
	}
	for _, f := range strings.Split(conns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return o, fmt.Errorf("-conns %q: want positive numbers separated by commas", conns)
		}
		o.load.Conns = append(o.load.Conns, n)
	}
	return o, nil
}

// run is the whole report: find the repository and a database server, run
// the benchmarks and the load, keep the raw output, and rewrite the report.
func run(ctx context.Context, args []string, getenv func(string) string) error {
	opts, err := parseFlags(args, getenv)
	if err != nil {
		return err
	}
	root, module, err := repoRoot()
	if err != nil {
		return err
	}
	var filter *regexp.Regexp
	if opts.benchRE != "" {
		if filter, err = regexp.Compile(opts.benchRE); err != nil {
			return fmt.Errorf("-bench: %w", err)
		}
	}
	info := runInfo{Started: time.Now(), LoadAvgStart: loadAvg()}
	say("repository %s", root)

	server, src, err := devdb.Resolve(ctx, devdb.Options{Getenv: getenv, Root: root, Log: say})
	if err != nil {
		return fmt.Errorf("no database server: %w", err)
	}
	info.Machine = describeMachine(ctx, server, string(src))

	raw, rawPath, err := createRawLog(root, info.Started)
	if err != nil {
		return err
	}
	defer raw.Close()

	if !opts.noBench {
		if err := runBenchmarks(ctx, root, module, filter, raw, &info); err != nil {
			return err
		}
	}
	if !opts.noLoad {
		runLoad(ctx, server, root, opts.load, raw, &info)
	}
	info.Ended, info.LoadAvgEnd = time.Now(), loadAvg()
	return writeReport(info, opts.out, root, rawPath)
}

// createRawLog opens the file that keeps the unedited output of this run
// under .data/bench, so a figure in the report can be traced back.
func createRawLog(root string, started time.Time) (*os.File, string, error) {
	rawDir := filepath.Join(root, ".data", "bench")
	if err := os.MkdirAll(rawDir, 0o755); err != nil {
		return nil, "", err
	}
	rawPath := filepath.Join(rawDir, "benchreport-"+started.Format("20060102-150405")+".txt")
	raw, err := os.Create(rawPath)
	return raw, rawPath, err
}

// runBenchmarks runs the matching benchmarks one package at a time, echoing
// their output to the terminal and the raw log, and parses the figures into
// info. It stops early only when ctx ends; failures are collected.
func runBenchmarks(ctx context.Context, root, module string, filter *regexp.Regexp, raw io.Writer, info *runInfo) error {
	pkgs, err := discover(root, module)
	if err != nil {
		return err
	}
	var all bytes.Buffer
	for _, p := range pkgs {
		if filter != nil {
			p.Names = slices.DeleteFunc(p.Names, func(n string) bool { return !filter.MatchString(n) })
		}
		if len(p.Names) == 0 {
			continue
		}
		start := time.Now()
		errs := runPackage(ctx, root, p, io.MultiWriter(os.Stdout, raw, &all))
		info.BenchErrors = append(info.BenchErrors, errs...)
		info.PerPackage = append(info.PerPackage, pkgTime{p.ImportPath, time.Since(start)})
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	info.Benchmarks = bench.Parse(&all)
	return nil
}

// runLoad runs the load test against server; its error goes into info (and
// so into the report and the failure count), not out of the run.
func runLoad(ctx context.Context, server, root string, lo load.Options, raw io.Writer, info *runInfo) {
	say("load: %v connections, %s per endpoint and concurrency", lo.Conns, lo.Duration)
	res, err := load.Run(ctx, load.Options{ServerURL: server, Root: root, Conns: lo.Conns, Duration: lo.Duration, Events: lo.Events, Log: say})
	info.Load, info.LoadErr = &res, err
	if err != nil {
		say("load failed: %v", err)
	}
	fmt.Fprintf(raw, "\nload: %+v\nerr: %v\n", res, err)
}

// writeReport rewrites the report and fails the run when any benchmark or
// the load failed, after the report is written so the failures are in it.
func writeReport(info runInfo, out, root, rawPath string) error {
	report := render(info)
	path := out
	if !filepath.IsAbs(path) {
		path = filepath.Join(root, path)
	}
	if err := os.WriteFile(path, []byte(report+keptSections(path)), 0o644); err != nil {
		return err
	}
	say("wrote %s in %s (raw output in %s)", path, info.Ended.Sub(info.Started).Round(time.Second), rawPath)
	failed := len(info.BenchErrors) + len(info.Benchmarks.Failures)
	if info.LoadErr != nil {
		failed++
	}
	if failed > 0 {
		return fmt.Errorf("%d benchmark or load failures (see %s)", failed, path)
	}
	return nil
}

func say(format string, a ...any) { fmt.Fprintf(os.Stderr, "benchreport: "+format+"\n", a...) }

// repoRoot is the directory of go.mod above the working directory, and the
// module path it declares.
func repoRoot() (string, string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if f := strings.Fields(line); len(f) == 2 && f[0] == "module" {
					return d, f[1], nil
				}
			}
			return "", "", fmt.Errorf("%s/go.mod declares no module", d)
		}
		if filepath.Dir(d) == d {
			return "", "", errors.New("no go.mod above " + dir + ": run from the repository")
		}
	}
}

var benchFunc = regexp.MustCompile(`(?m)^func (Benchmark\w*)\(\w+ \*testing\.B\)`)

// discover finds every package whose tests define benchmarks.
func discover(root, module string) ([]pkgBenchmarks, error) {
	byDir := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range benchFunc.FindAllSubmatch(b, -1) {
			dir := filepath.Dir(path)
			byDir[dir] = append(byDir[dir], string(m[1]))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []pkgBenchmarks
	for dir, names := range byDir {
		rel, _ := filepath.Rel(root, dir)
		ip := module
		if rel != "." {
			ip += "/" + filepath.ToSlash(rel)
		}
		slices.Sort(names)
		out = append(out, pkgBenchmarks{Dir: dir, ImportPath: ip, Names: slices.Compact(names)})
	}
	slices.SortFunc(out, func(a, b pkgBenchmarks) int { return strings.Compare(a.ImportPath, b.ImportPath) })
	return out, nil
}

// runPackage builds the package's test binary once and runs its benchmarks
// in groups of the same -benchtime, from the package directory as go test
// would. It returns what failed.
func runPackage(ctx context.Context, root string, p pkgBenchmarks, w io.Writer) []string {
	tmp, err := os.MkdirTemp("", "benchreport-")
	if err != nil {
		return []string{p.ImportPath + ": " + err.Error()}
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "bench.test")
	say("%s: building", p.ImportPath)
	build := exec.CommandContext(ctx, "go", "test", "-c", "-o", bin, p.ImportPath)
	build.Dir = root
	if b, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(w, "pkg: %s\nFAIL build: %s\n", p.ImportPath, b)
		return []string{fmt.Sprintf("%s: build: %v: %s", p.ImportPath, err, lastLines(b, 5))}
	}
	groups := map[string][]string{}
	for _, n := range p.Names {
		bt := benchtimes[n]
		if bt == "" {
			bt = "1s"
		}
		groups[bt] = append(groups[bt], n)
	}
	var failed []string
	for _, bt := range slices.Sorted(maps.Keys(groups)) {
		names := groups[bt]
		pattern := "^(" + strings.Join(names, "|") + ")$"
		say("%s: %s at -benchtime %s", p.ImportPath, strings.Join(names, ", "), bt)
		cmd := exec.CommandContext(ctx, bin, "-test.run", "^$", "-test.bench", pattern, "-test.benchtime", bt,
			"-test.benchmem", "-test.count", "1", "-test.timeout", "15m")
		cmd.Dir = p.Dir
		var stderr bytes.Buffer
		// The binary prints no "pkg:" line of its own when run directly.
		fmt.Fprintf(w, "pkg: %s\n", p.ImportPath)
		cmd.Stdout = w
		cmd.Stderr = io.MultiWriter(w, &stderr)
		if err := cmd.Run(); err != nil {
			failed = append(failed, fmt.Sprintf("%s (%s): %v %s", p.ImportPath, strings.Join(names, ", "), err, lastLines(stderr.Bytes(), 3)))
		}
	}
	return failed
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// keptMarker starts the sections of the report that other commands write
// (make soak, make mutate): a rewrite keeps them.
const keptMarker = "<!-- sections below are not written by make bench: it keeps them -->"

// keptSections is the part of the report at path from keptMarker on, or "".
func keptSections(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if i := strings.Index(string(b), keptMarker); i >= 0 {
		return "\n" + string(b[i:])
	}
	return ""
}
