// Command demo runs the whole portal on one machine for evaluation: it finds
// or starts a PostgreSQL, then serves the portal against it. It is what
// `make demo` runs; it is not for production.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/uwsportal/uwsportal/internal/cli"
	"github.com/uwsportal/uwsportal/internal/devdb"
	"github.com/uwsportal/uwsportal/internal/secret"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	say := func(format string, a ...any) { fmt.Fprintf(os.Stderr, "demo: "+format+"\n", a...) }
	server, src, err := devdb.Resolve(ctx, devdb.Options{Getenv: getenv, Root: root, Log: say})
	if err != nil {
		return fmt.Errorf("no database: %w", err)
	}
	dbURL := server
	if src != devdb.FromEnv {
		if dbURL, err = devdb.EnsureDatabase(ctx, server, "uwsportal_demo"); err != nil {
			return fmt.Errorf("create demo database: %w", err)
		}
	}
	say("database: %s", src)
	key, err := demoKey(root)
	if err != nil {
		return err
	}
	env := map[string]string{
		"DATABASE_URL":         dbURL,
		"UWSPORTAL_MASTER_KEY": key,
	}
	getenvDemo := func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return env[k]
	}
	base := getenvDemo("UWSPORTAL_BASE_URL")
	if base == "" {
		base = "http://127.0.0.1:8080"
	}
	say("open %s", base)
	return cli.Run(ctx, []string{"uwsportal", "serve"}, getenvDemo, cli.OSStdio())
}

// demoKey keeps one master key for the demo database under .data/, so the
// demo's secrets stay readable across runs. Never for production.
func demoKey(root string) (string, error) {
	path := filepath.Join(root, ".data", "demo-master.key")
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	k := secret.GenerateKey()
	return k, os.WriteFile(path, []byte(k+"\n"), 0o600)
}
