package deploy_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/uwsportal/uwsportal/internal/cli"
	"github.com/uwsportal/uwsportal/internal/config"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/web"
)

// binary is where the image puts the portal (Dockerfile).
const binary = "/uwsportal"

var variables = config.Variables()

// checkVar fails for a variable the portal does not read.
func checkVar(t *testing.T, where, name string) {
	t.Helper()
	if !slices.Contains(variables, name) {
		t.Errorf("%s: %s is not a variable the portal reads", where, name)
	}
}

// checkCommand fails for a command line the binary does not have.
func checkCommand(t *testing.T, where string, args []string) {
	t.Helper()
	if err := cli.CheckCommandLine(args); err != nil {
		t.Errorf("%s: %v", where, err)
	}
}

// checkPath fails for an HTTP path that is not an operational route.
func checkPath(t *testing.T, where, path string) {
	t.Helper()
	if !slices.Contains(web.OperationalPaths, path) {
		t.Errorf("%s: %s is not one of the portal's operational paths %v", where, path, web.OperationalPaths)
	}
}

// port is the port of a host:port listen address.
func port(t *testing.T, where, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Errorf("%s: %q is not host:port", where, addr)
	}
	return p
}

// dummy gives a secret-bearing variable a value of the right shape, so the
// file's configuration can be loaded as the portal would.
func dummy(name string) string {
	switch strings.TrimSuffix(name, "_FILE") {
	case "DATABASE_URL":
		return "postgres://uwsportal@db.example.com:5432/uwsportal"
	case secret.EnvMasterKey:
		return secret.GenerateKey()
	}
	return "dummy-" + strings.ToLower(name)
}

// loads fails unless the portal accepts env as its configuration. Values
// named by _FILE are written to private files first.
func loads(t *testing.T, where string, env map[string]string) {
	t.Helper()
	dir := t.TempDir()
	for k := range env {
		if base, ok := strings.CutSuffix(k, "_FILE"); ok {
			path := filepath.Join(dir, base)
			if err := os.WriteFile(path, []byte(dummy(base)), 0o600); err != nil {
				t.Fatal(err)
			}
			env[k] = path // instead of the path on the target machine
		}
	}
	if _, err := config.Load(func(k string) string { return env[k] }); err != nil {
		t.Errorf("%s: the portal refuses this configuration: %v", where, err)
	}
}

// readYAML decodes every document of a file under deploy/.
func readYAML(t *testing.T, name string) []map[string]any {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	var docs []map[string]any
	for {
		var d map[string]any
		if err := dec.Decode(&d); err != nil {
			if errors.Is(err, io.EOF) {
				return docs
			}
			t.Fatalf("%s: %v", name, err)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
}

// at walks a decoded document: at(doc, "spec", "template", "spec").
func at(v any, keys ...any) any {
	for _, k := range keys {
		switch c := v.(type) {
		case map[string]any:
			v = c[fmt.Sprint(k)]
		case []any:
			i, ok := k.(int)
			if !ok || i >= len(c) {
				return nil
			}
			v = c[i]
		default:
			return nil
		}
	}
	return v
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func strs(v any) []string {
	var out []string
	for _, x := range list(v) {
		out = append(out, str(x))
	}
	return out
}
