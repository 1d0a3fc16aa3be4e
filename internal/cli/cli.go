// Package cli implements the uwsportal command line: serve, migrate and the
// operator commands. cmd/uwsportal and the demo both run it.
package cli

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/uwsportal/uwsportal/internal/config"
	"github.com/uwsportal/uwsportal/internal/store"
)

// app carries what every command needs; tests build one with their own
// streams and environment.
type app struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// describe, when set, receives a command's flags instead of running it
	// (the command tree reads them for help and completion).
	describe func(*flag.FlagSet)
}

// exitError carries a specific exit status (1 is the default).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// ExitCode is the process exit status for err.
func ExitCode(err error) int {
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	return 1
}

// Stdio are the streams a command reads and writes.
type Stdio struct {
	In       io.Reader
	Out, Err io.Writer
}

// OSStdio is the process's own streams.
func OSStdio() Stdio { return Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr} }

// Version is the portal's version, set by the main package.
var Version = "dev"

// Run runs one command line (args[0] is the program name).
func Run(ctx context.Context, args []string, getenv func(string) string, io Stdio) error {
	a := &app{getenv: getenv, stdin: io.In, stdout: io.Out, stderr: io.Err}
	return a.run(ctx, args)
}

func (a *app) run(ctx context.Context, args []string) error {
	if len(args) < 1 {
		args = []string{"uwsportal"}
	}
	return a.execute(ctx, args[1:])
}

func (a *app) logger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(strings.ToUpper(level)))
	return slog.New(slog.NewJSONHandler(a.stderr, &slog.HandlerOptions{Level: l}))
}

// config loads the configuration and insists on a database URL.
func (a *app) config() (*config.Config, error) {
	cfg, err := config.Load(a.getenv)
	if url, ferr := a.databaseURL(); url == "" && ferr == nil {
		// One error lists every problem, this one included.
		missing := "DATABASE_URL is required (make demo finds or starts a local database for you)"
		var ce *config.Error
		if errors.As(err, &ce) {
			ce.Problems = append([]string{missing}, ce.Problems...)
			return nil, ce
		}
		return nil, &config.Error{Problems: []string{missing}}
	}
	return cfg, err
}

// openDB connects to the configured database.
func (a *app) openDB(ctx context.Context, cfg *config.Config, log *slog.Logger) (*store.DB, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL, store.Options{Log: log})
	if err != nil {
		return nil, err
	}
	return db, nil
}

// coreConfig loads the configuration of a command that never touches a
// secret: the master key may be missing, the database URL may not. strict
// refuses any other configuration problem (migrate runs before serve);
// otherwise only the database URL is needed.
func (a *app) coreConfig(strict bool) (*config.Config, error) {
	cfg, err := config.Load(a.getenv)
	if err != nil && strict && !onlyMissingKey(err) {
		return nil, err
	}
	if err != nil && !strict {
		cfg = nil
	}
	if cfg == nil {
		url, err := a.databaseURL()
		if err != nil {
			return nil, &config.Error{Problems: []string{err.Error()}}
		}
		cfg = &config.Config{DatabaseURL: url}
	}
	if cfg.DatabaseURL == "" {
		return nil, errors.New("configuration: DATABASE_URL is required")
	}
	return cfg, nil
}

// databaseURL reads DATABASE_URL or DATABASE_URL_FILE (config.Load lists
// a problem with either among the rest).
func (a *app) databaseURL() (string, error) {
	return config.ReadSecret(a.getenv, nil, "DATABASE_URL")
}

// onlyMissingKey lets migrate run without the master key, which it never uses.
func onlyMissingKey(err error) bool {
	var ce *config.Error
	if !errors.As(err, &ce) {
		return false
	}
	for _, p := range ce.Problems {
		if !strings.HasPrefix(p, "UWSPORTAL_MASTER_KEY") {
			return false
		}
	}
	return true
}
