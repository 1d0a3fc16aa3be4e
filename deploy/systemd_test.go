package deploy_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSystemdUnit(t *testing.T) {
	f, err := os.Open(filepath.Join("systemd", "uwsportal.service"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env, creds := map[string]string{}, map[string]bool{}
	execs := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), "=")
		if !ok || strings.HasPrefix(key, "#") {
			continue
		}
		switch key {
		case "Environment":
			name, v, _ := strings.Cut(val, "=")
			checkVar(t, "uwsportal.service", name)
			env[name] = v
			if c, ok := strings.CutPrefix(v, "%d/"); ok && !creds[c] {
				t.Errorf("uwsportal.service: %s names credential %s, which no LoadCredential= loads", name, c)
			}
		case "LoadCredential":
			name, _, _ := strings.Cut(val, ":")
			creds[name] = true
		case "EnvironmentFile":
			for k, v := range envFile(t, filepath.Join("systemd", filepath.Base(strings.TrimPrefix(val, "-"))+".example")) {
				env[k] = v
			}
		case "ExecStart", "ExecStartPre":
			words := strings.Fields(val)
			if len(words) == 0 || filepath.Base(words[0]) != "uwsportal" {
				t.Errorf("uwsportal.service: %s runs %v", key, words)
				continue
			}
			execs++
			checkCommand(t, "uwsportal.service "+key, words[1:])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if execs == 0 {
		t.Fatal("uwsportal.service starts nothing")
	}
	loads(t, "uwsportal.service", env)
}

// envFile reads NAME=value lines, checking each name.
func envFile(t *testing.T, path string) map[string]string {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(raw), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(k, "#") {
			checkVar(t, path, k)
			env[k] = v
		}
	}
	return env
}

// The image runs the binary as its own health check (FROM scratch has no
// shell), and README says what the image is.
func TestDockerfile(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(raw)
	stages := strings.Split(df, "\nFROM ")
	final := stages[len(stages)-1]
	if !strings.HasPrefix(final, "scratch") {
		t.Fatalf("the final stage is not FROM scratch: README says it is")
	}
	_, hc, ok := strings.Cut(final, "HEALTHCHECK ")
	if !ok {
		t.Fatal("the image has no HEALTHCHECK")
	}
	hc, _, _ = strings.Cut(hc, "\n")
	_, cmd, _ := strings.Cut(hc, "CMD [")
	var words []string
	for _, w := range strings.Split(strings.TrimSuffix(cmd, "]"), ",") {
		words = append(words, strings.Trim(strings.TrimSpace(w), `"`))
	}
	if len(words) < 2 || words[0] != binary {
		t.Fatalf("HEALTHCHECK must run %s in exec form: %q", binary, hc)
	}
	checkCommand(t, "Dockerfile HEALTHCHECK", words[1:])
	if !strings.Contains(final, `ENTRYPOINT ["`+binary+`"]`) {
		t.Errorf("ENTRYPOINT is not %s", binary)
	}
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "`FROM scratch`") || strings.Contains(string(readme), "distroless") {
		t.Error("README must say the image is FROM scratch (and not distroless)")
	}
}
