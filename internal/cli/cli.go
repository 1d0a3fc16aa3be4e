// Package cli implements the uwsportal command line: serve, migrate and the
// operator commands. cmd/uwsportal and the demo both run it.
package cli

import (
	"context"
	"errors"
	"fmt"
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

const usage = `usage: uwsportal <command> [flags]

commands:
  serve        run the web server (the default)
  migrate      apply database migrations and exit
  audit        verify the audit chain, export the trail (audit help)
  create-admin --username U            break-glass local admin; password from stdin
  map-group --group G --role R [--department S]
  department create --slug S --name N [--protocol rest|soap] [--max-age 90d] [--account NAME]
  department set --slug S --account NAME
  devices list --department S [--q X] [--state S] [--json]
  devices suspend|restore|activate|plan|deactivate --department S --device ID [--device ID …]
          [--plan P] [--zip Z] [--reason R] [--etf-waiver] [--confirm MDN-or-ICCID]
  api-client create --department S --name N --owner EMAIL --operations list,suspend,… [--expires 90d] [--json]
  api-client list --department S [--json]
  api-client rotate-secret --department S --client ID [--overlap 1h] [--json]
  api-client revoke --department S --client ID
  notify add --kind webhook|slack|teams|email --target URL-or-address [--department S] [--events E,…] [--json]
  notify list [--json]
  notify remove|test --id N
  credential set --department S --username U [--verify]   password from stdin
  credential list [--json]
  credential test --department S
  credential rotate --department S
  callbacks register|list|deregister --department S   the portal as the account's CarrierService listener (UWSPORTAL_CALLBACK_URL)
  rekey        re-encrypt every secret under the current key
  version      print the version
`

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
	cmd, rest := "serve", []string{}
	if len(args) > 1 {
		cmd, rest = args[1], args[2:]
	}
	switch cmd {
	case "serve":
		return a.serve(ctx, rest)
	case "migrate":
		return a.migrate(ctx, rest)
	case "department":
		return a.department(ctx, rest)
	case "credential":
		return a.credential(ctx, rest)
	case "devices":
		return a.devices(ctx, rest)
	case "api-client":
		return a.apiClient(ctx, rest)
	case "notify":
		return a.notifyCmd(ctx, rest)
	case "callbacks":
		return a.callbacks(ctx, rest)
	case "rekey":
		return a.rekey(ctx, rest)
	case "audit":
		return a.audit(ctx, rest)
	case "create-admin":
		return a.createAdmin(ctx, rest)
	case "map-group":
		return a.mapGroup(ctx, rest)
	case "version", "--version", "-v":
		fmt.Fprintln(a.stdout, Version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(a.stdout, usage)
		return nil
	}
	return &exitError{code: 2, err: fmt.Errorf("unknown command %q\n%s", cmd, usage)}
}

func (a *app) logger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(strings.ToUpper(level)))
	return slog.New(slog.NewJSONHandler(a.stderr, &slog.HandlerOptions{Level: l}))
}

// config loads the configuration and insists on a database URL.
func (a *app) config() (*config.Config, error) {
	cfg, err := config.Load(a.getenv)
	if a.getenv("DATABASE_URL") == "" {
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

func (a *app) migrate(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return &exitError{code: 2, err: fmt.Errorf("migrate takes no arguments")}
	}
	cfg, err := a.coreConfig(true)
	if err != nil {
		return err
	}
	db, err := a.openDB(ctx, cfg, a.logger("info"))
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	p := cliPrincipal()
	if err := auditMigrated(ctx, db, p, n); err != nil {
		return err
	}
	cur, _, _ := db.SchemaVersion(ctx)
	fmt.Fprintf(a.stdout, "applied %d migration(s); schema at version %d\n", n, cur)
	return nil
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
		cfg = &config.Config{DatabaseURL: a.getenv("DATABASE_URL")}
	}
	if cfg.DatabaseURL == "" {
		return nil, errors.New("configuration: DATABASE_URL is required")
	}
	return cfg, nil
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
