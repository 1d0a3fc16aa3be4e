package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func runCLI(args ...string) (string, string, error) {
	var out, errOut bytes.Buffer
	err := Run(context.Background(), append([]string{"uwsportal"}, args...), func(string) string { return "" },
		Stdio{In: strings.NewReader(""), Out: &out, Err: &errOut})
	return out.String(), errOut.String(), err
}

// Every command answers --help on stdout with exit 0 and lists every flag
// its body parses.
func TestHelpForEveryCommand(t *testing.T) {
	t.Parallel()
	paths := []string{""}
	for g := range groups {
		paths = append(paths, g)
	}
	flags := map[string][]string{}
	for _, l := range leaves() {
		paths = append(paths, l.path)
		fs, err := l.describe()
		if err != nil {
			t.Error(err)
			continue
		}
		fs.VisitAll(func(f *flag.Flag) { flags[l.path] = append(flags[l.path], f.Name) })
	}
	for _, p := range paths {
		for _, h := range []string{"--help", "-h"} {
			out, _, err := runCLI(append(strings.Fields(p), h)...)
			if err != nil || !strings.Contains(out, "Usage:") {
				t.Errorf("uwsportal %s %s: %v\n%s", p, h, err, out)
				continue
			}
			for _, f := range flags[p] {
				if !strings.Contains(out, "--"+f+" ") {
					t.Errorf("uwsportal %s --help does not list --%s:\n%s", p, f, out)
				}
			}
		}
	}
	if out, _, err := runCLI("help", "credential", "set"); err != nil || !strings.Contains(out, "--count-reset") {
		t.Errorf("help credential set: %v %s", err, out)
	}
}

// The command line is an interface: every command and flag README shows
// exists, with the names README gives.
func TestReadmeCommandLineExists(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "## Command line\n\n```\n")
	if !ok {
		t.Fatal("README has no command line block")
	}
	section, _, _ = strings.Cut(section, "```")
	a := &app{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: discard{}, stderr: discard{}}
	root := a.tree(context.Background())
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	flagRe := regexp.MustCompile(`--([a-z-]+)`)
	var last []string
	for _, line := range strings.Split(section, "\n") {
		line, _, _ = strings.Cut(line, "#")
		words := strings.Fields(line)
		cmds := last
		if len(words) > 0 && words[0] == "uwsportal" {
			cmds = expand(words[1:])
			last = cmds
		}
		for _, c := range cmds {
			found, rest, err := root.Find(strings.Fields(c))
			if err != nil || len(rest) > 0 || found.CommandPath() != strings.TrimSpace("uwsportal "+c) {
				t.Errorf("README: uwsportal %s is not a command", c)
				continue
			}
			for _, m := range flagRe.FindAllStringSubmatch(line, -1) {
				if found.Flags().Lookup(m[1]) == nil {
					t.Errorf("README: uwsportal %s --%s does not exist", c, m[1])
				}
			}
		}
	}
}

// expand reads "notify remove|test --id N" as the commands it names.
func expand(words []string) []string {
	out := []string{""}
	for _, w := range words {
		if strings.HasPrefix(w, "-") || strings.HasPrefix(w, "[") || w == "" || strings.ToUpper(w) == w {
			break
		}
		var next []string
		for _, o := range out {
			for _, alt := range strings.Split(w, "|") {
				next = append(next, strings.TrimSpace(o+" "+alt))
			}
		}
		out = next
	}
	return out
}

// Every read command prints JSON on request.
func TestReadCommandsTakeJSON(t *testing.T) {
	t.Parallel()
	read := []string{"credential list", "devices list", "api-client list", "notify list", "migrate status", "audit verify", "version", "healthcheck"}
	for _, l := range leaves() {
		for _, r := range read {
			if l.path != r {
				continue
			}
			if fs, err := l.describe(); err != nil || fs.Lookup("json") == nil {
				t.Errorf("%s has no --json", r)
			}
		}
	}
	out, _, err := runCLI("version", "--json")
	if err != nil || !strings.Contains(out, `"version":"dev"`) {
		t.Fatalf("version --json: %v %s", err, out)
	}
}

func TestExitCodesAndCompletion(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"nope"}, 2}, {[]string{"department"}, 2}, {[]string{"department", "nope"}, 2},
		{[]string{"department", "create", "--nope"}, 2}, {[]string{"serve", "extra"}, 2}, {[]string{"--nope"}, 2},
		{[]string{"credential", "list"}, 1}, // no configuration
		{[]string{"healthcheck", "--url", "http://127.0.0.1:1", "--timeout", "1s"}, 1},
	} {
		if _, _, err := runCLI(c.args...); ExitCode(err) != c.code || err == nil {
			t.Errorf("%v: exit %d (%v), want %d", c.args, ExitCode(err), err, c.code)
		}
	}
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		if out, _, err := runCLI("completion", shell); err != nil || !strings.Contains(out, "uwsportal") {
			t.Errorf("completion %s: %v", shell, err)
		}
	}
	out, _, err := runCLI("__complete", "credential", "set", "--count")
	if err != nil || !strings.Contains(out, "--count-reset") {
		t.Errorf("completing a flag: %v %s", err, out)
	}
}

func TestHealthcheck(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		if _, err := fmt.Fprint(w, `{"status":"x"}`); err != nil {
			t.Error(err)
		}
	}))
	defer srv.Close()
	var out bytes.Buffer
	env := map[string]string{"UWSPORTAL_ADDR": "0.0.0.0:" + srv.URL[strings.LastIndexByte(srv.URL, ':')+1:]}
	run := func(args ...string) error {
		out.Reset()
		return Run(context.Background(), append([]string{"uwsportal", "healthcheck"}, args...), func(k string) string { return env[k] },
			Stdio{In: strings.NewReader(""), Out: &out, Err: &out})
	}
	if err := run(); err != nil || !strings.Contains(out.String(), "/healthz 200") {
		t.Fatalf("healthz: %v %s", err, out.String())
	}
	if err := run("--ready"); ExitCode(err) != 1 {
		t.Fatalf("readyz 503: %v", err)
	}
	if err := run("--json"); err != nil || !strings.Contains(out.String(), `"healthy":true`) {
		t.Fatalf("--json: %v %s", err, out.String())
	}
}
