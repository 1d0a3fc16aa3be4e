// Command mutate is the mutation check (make mutate): for each deliberate
// one-line breakage in internal/faults/mutations it copies the tree to a
// temporary directory (the worktree is never changed; -trimpath lets
// every copy share the build cache), applies the
// breakage, runs the randomized fault-schedule test alone over a fixed
// list of seeds (stopping at the first that fails), then the unit tests
// of the broken package, and prints the table (mutation, caught by the
// fault test and at which seed, caught by the unit tests). It exits 1 if
// a mutation's line is missing (the code moved), if the unbroken tree
// fails the same seeds, or if a mutation is caught by neither.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/uwsportal/uwsportal/internal/faults/mutations"
	"github.com/uwsportal/uwsportal/models"
)

type options struct {
	seeds, steps int
	first        uint64
	only         *regexp.Regexp
	unit         bool
	baseline     bool
	patience     time.Duration
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mutate:", err)
		os.Exit(1)
	}
}

func run() error {
	var o options
	only := flag.String("only", "", "run only the mutations whose name matches this regular expression")
	flag.IntVar(&o.seeds, "seeds", 20, "seeds of the fault-schedule test per mutation (make soak's default budget)")
	flag.IntVar(&o.steps, "steps", 40, "steps per seed (the test's default)")
	first := flag.Uint64("first-seed", 1, "the first seed; seeds are first, first+1, …")
	flag.BoolVar(&o.unit, "unit", true, "also run the unit tests of each mutated package")
	flag.BoolVar(&o.baseline, "baseline", true, "first check that the unbroken tree passes the same seeds")
	flag.DurationVar(&o.patience, "seed-timeout", 5*time.Minute, "the longest one seed may run")
	flag.Parse()
	o.first = *first
	var err error
	if o.only, err = regexp.Compile(*only); err != nil {
		return err
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	var list []mutations.Mutation
	for _, m := range mutations.All {
		if o.only.MatchString(m.Name) {
			list = append(list, m)
		}
	}
	if err := checkBaseline(root, o); err != nil {
		return err
	}
	var rows []result
	missed := 0
	for _, m := range list {
		r, err := check(root, &m, o)
		if err != nil {
			return err
		}
		rows = append(rows, r)
		if r.fault == "" && !r.unitCaught {
			missed++
		}
		fmt.Fprintf(os.Stderr, "%s: fault test %q (%s), unit tests caught %v\n", m.Name, r.fault, r.log, r.unitCaught)
	}
	printTable(os.Stdout, rows, o)
	if missed > 0 {
		return fmt.Errorf("%d mutations were caught by nothing", missed)
	}
	return nil
}

// checkBaseline fails if the unbroken tree fails the seeds (then a
// mutation's failure would prove nothing).
func checkBaseline(root string, o options) error {
	if !o.baseline {
		fmt.Fprintln(os.Stderr, "baseline skipped (-baseline=false)")
		return nil
	}
	baseline, err := check(root, nil, o)
	if err != nil {
		return err
	}
	if baseline.fault != "" {
		return fmt.Errorf("the unbroken tree fails the fault schedule (%s; output in %s): fix that first", baseline.fault, baseline.log)
	}
	fmt.Fprintf(os.Stderr, "baseline: %d seeds of %d steps pass\n", o.seeds, o.steps)
	return nil
}

// result is one row of the table.
type result struct {
	m          mutations.Mutation
	fault      string // "seed N: first line of the failure", "" if it passed every seed
	seedsRun   int
	unitCaught bool
	unitLine   string
	log        string // the failing seed's output, kept
}

// keepLog writes a failing run's output beside the system's temporary
// files and returns its path.
func keepLog(mutation string, seed uint64, out []byte) string {
	dir := filepath.Join(os.TempDir(), "uwsportal-mutate-logs")
	path := filepath.Join(dir, fmt.Sprintf("%s-seed%d.txt", strings.ReplaceAll(mutation, " ", "-"), seed))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err.Error()
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return err.Error()
	}
	return path
}

// check copies the tree, applies m (nil: none) and runs the tests.
func check(root string, m *mutations.Mutation, o options) (result, error) {
	tmp, err := os.MkdirTemp("", "uwsportal-mutate-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(tmp)
	if err := copyTree(root, tmp); err != nil {
		return result{}, err
	}
	r := result{}
	if m != nil {
		r.m = *m
		if err := mutations.Apply(tmp, *m); err != nil {
			return result{}, err
		}
	}
	bin := filepath.Join(tmp, "faults.test")
	if out, err := goCmd(tmp, nil, 10*time.Minute, "test", "-trimpath", "-c", "-o", bin, "./internal/faults/"); err != nil {
		return result{}, fmt.Errorf("build the fault test (%v): %w\n%s", name(m), err, out)
	}
	for i := range o.seeds {
		seed := o.first + uint64(i)
		r.seedsRun = i + 1
		env := []string{"UWSPORTAL_FAULT_SEED=" + strconv.FormatUint(seed, 10), "UWSPORTAL_FAULT_STEPS=" + strconv.Itoa(o.steps)}
		out, err := command(filepath.Join(tmp, "internal", "faults"), env, o.patience, bin, "-test.run", "^TestFaultSchedule$", "-test.count=1", "-test.v")
		if err != nil {
			r.fault = fmt.Sprintf("seed %d: %s", seed, firstFailure(out))
			r.log = keepLog(name(m), seed, out)
			break
		}
	}
	if m != nil && o.unit {
		out, err := goCmd(tmp, nil, 20*time.Minute, append([]string{"test", "-trimpath", "-count=1"}, m.Unit...)...)
		r.unitCaught = err != nil
		if r.unitCaught {
			r.unitLine = firstFailure(out)
		}
	}
	return r, nil
}

func name(m *mutations.Mutation) string {
	if m == nil {
		return "no mutation"
	}
	return m.Name
}

var failureLine = regexp.MustCompile(`(INVARIANT VIOLATED[^\n]*|--- FAIL: [^\n]*|panic: [^\n]*|[a-z_]+_test\.go:\d+: [^\n]*)`)

// firstFailure is the most telling line of a failed run.
func firstFailure(out []byte) string {
	if m := regexp.MustCompile(`INVARIANT VIOLATED \(seed \d+\): ([^\n]*)`).FindSubmatch(out); m != nil {
		return cell(string(m[1]))
	}
	if m := failureLine.Find(out); m != nil {
		return cell(string(m))
	}
	return cell(strings.TrimSpace(lastLine(out)))
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

func cell(s string) string { return models.ClipMark(strings.ReplaceAll(s, "|", "/"), 160) }

func goCmd(dir string, env []string, patience time.Duration, args ...string) ([]byte, error) {
	return command(dir, env, patience, "go", args...)
}

// command runs name in dir with env added, for at most patience.
func command(dir string, env []string, patience time.Duration, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s did not end within %s", name, patience)
	}
	return out.Bytes(), err
}

// repoRoot is the top of the git worktree the command runs in.
func repoRoot() (string, error) {
	out, err := command(".", nil, time.Minute, "git", "rev-parse", "--show-toplevel")
	if err != nil {
		return "", fmt.Errorf("git rev-parse: %w: %s", err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// copyTree copies the files git knows of (tracked, and untracked but not
// ignored) from root to dst.
func copyTree(root, dst string) error {
	out, err := command(root, nil, time.Minute, "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	if err != nil {
		return fmt.Errorf("git ls-files: %w", err)
	}
	for _, rel := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if err := copyFile(filepath.Join(root, rel), filepath.Join(dst, rel)); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if os.IsNotExist(err) {
		return nil // deleted in the worktree, not yet in the index
	}
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// printTable writes the results as a Markdown table.
func printTable(w io.Writer, rows []result, o options) {
	fmt.Fprintf(w, "Fault test: seeds %d..%d, %d steps each, stopping at the first failing seed.\n\n", o.first, o.first+uint64(o.seeds)-1, o.steps)
	fmt.Fprintln(w, "| mutation | area | line | caught by the fault test | caught by the unit tests |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, r := range rows {
		fault := fmt.Sprintf("no (%d seeds)", r.seedsRun)
		if r.fault != "" {
			fault = "yes, " + r.fault
		}
		unit := "not run"
		if o.unit {
			unit = "no"
			if r.unitCaught {
				unit = "yes: " + r.unitLine
			}
		}
		fmt.Fprintf(w, "| %s | %s | `%s` → `%s` | %s | %s |\n", r.m.Name, r.m.Area, r.m.File+": "+cell(r.m.Find), cell(r.m.Replace), fault, unit)
	}
}
