// Command demo runs the whole portal on one machine for evaluation: a
// PostgreSQL (found or started), the ThingSpace simulator, the development
// identity provider, demo departments, mappings and credentials, and the
// portal itself. It is what `make demo` runs; it is not for production.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/uwsportal/uwsportal/internal/cli"
	"github.com/uwsportal/uwsportal/internal/devdb"
	"github.com/uwsportal/uwsportal/internal/devidp"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/tsim"
	"github.com/uwsportal/uwsportal/models"
)

// Demo addresses: loopback only.
const (
	portalAddr = "127.0.0.1:8080"
	tsimAddr   = "127.0.0.1:9090"
	idpAddr    = "127.0.0.1:9091"
	mailAddr   = "127.0.0.1:9025"
	appKey     = "demo-app-key"
	appSecret  = "demo-app-secret"
	idpSecret  = "demo-idp-secret"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func say(format string, a ...any) { fmt.Fprintf(os.Stderr, "demo: "+format+"\n", a...) }

func run(ctx context.Context, getenv func(string) string) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	listeners := map[string]net.Listener{}
	for _, addr := range []string{portalAddr, tsimAddr, idpAddr, mailAddr} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("%s is already in use: stop whatever listens there (is a demo already running?) and run make demo again", addr)
		}
		listeners[addr] = ln
	}
	listeners[portalAddr].Close() // the portal binds it itself

	server, src, err := devdb.Resolve(ctx, devdb.Options{Getenv: getenv, Root: root, Log: say})
	if err != nil {
		return fmt.Errorf("no database: %w", err)
	}
	dbURL := server
	if src != devdb.FromEnv {
		if dbURL, err = devdb.EnsureDatabase(ctx, server, "uwsportal_demo"); err != nil {
			return fmt.Errorf("create the demo database: %w", err)
		}
	}
	say("database: %s", src)
	key, err := demoKey(root)
	if err != nil {
		return err
	}

	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sim := tsim.New(tsim.Options{AppKey: appKey, AppSecret: appSecret, Logger: quiet})
	idp, err := devidp.New(devidp.Config{
		Issuer: "http://" + idpAddr, ClientID: "uwsportal", ClientSecret: idpSecret,
		RedirectURIs: []string{"http://" + portalAddr + "/auth/callback"}, PostLogoutRedirectURIs: []string{"http://" + portalAddr + "/"},
		Users: devidp.DefaultUsers(),
	})
	if err != nil {
		return err
	}
	for addr, h := range map[string]http.Handler{tsimAddr: sim, idpAddr: idp} {
		hs := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = hs.Serve(listeners[addr]) }()
		defer hs.Close()
	}
	defer serveMailbox(listeners[mailAddr]).Close()

	env := map[string]string{
		"DATABASE_URL":           dbURL,
		"UWSPORTAL_MASTER_KEY":   key,
		"UWSPORTAL_ADDR":         portalAddr,
		"UWSPORTAL_BASE_URL":     "http://" + portalAddr,
		"UWSPORTAL_CALLBACK_URL": "http://" + portalAddr, // ThingSpace (the simulator) calls the portal back here
		"OIDC_ISSUER":            "http://" + idpAddr,
		"OIDC_CLIENT_ID":         "uwsportal",
		"OIDC_CLIENT_SECRET":     idpSecret,
		"UWSPORTAL_ADMIN_GROUPS": "uwsportal-admins",
		"THINGSPACE_URL":         "http://" + tsimAddr,
		"THINGSPACE_SOAP_URL":    "http://" + tsimAddr + "/api/v2/SessionService.svc",
		"THINGSPACE_APP_KEY":     appKey,
		"THINGSPACE_APP_SECRET":  appSecret,
		// Notifications by email to the demo's mailbox (loopback, so no TLS).
		"UWSPORTAL_SMTP_ADDR": mailAddr,
		"UWSPORTAL_SMTP_FROM": "uwsportal@example.com",
		"UWSPORTAL_SMTP_TLS":  "none",
	}
	demoEnv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return getenv(k)
	}
	if err := seed(ctx, demoEnv, sim); err != nil {
		return fmt.Errorf("seed demo data: %w", err)
	}
	say("ThingSpace simulator on http://%s, development IdP on http://%s, notification mailbox smtp://%s (printed here)", tsimAddr, idpAddr, mailAddr)
	say("open http://%s and sign in as alice (admin), oscar (auditor), lena (fleet lead), mike (fleet member), fiona (field-ops lead) or nora (no groups)", portalAddr)
	return cli.Run(ctx, []string{"uwsportal", "serve"}, demoEnv, cli.OSStdio())
}

// seed makes the demo data exist: departments, group mappings and the two
// departments' credentials, whose passwords the simulator learns afresh at
// every start (it keeps no state of its own).
func seed(ctx context.Context, getenv func(string) string, sim *tsim.Server) error {
	quietRun := func(stdin string, args ...string) error {
		var out strings.Builder
		err := cli.Run(ctx, append([]string{"uwsportal"}, args...), getenv, cli.Stdio{In: strings.NewReader(stdin), Out: &out, Err: &out})
		if err != nil && !strings.Contains(err.Error(), "already exists") {
			return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, out.String())
		}
		return nil
	}
	if err := quietRun("", "migrate"); err != nil {
		return err
	}
	for _, d := range demoDepartments {
		if err := quietRun("", "department", "create", "--slug", d.slug, "--name", d.name, "--protocol", d.protocol); err != nil {
			return err
		}
	}
	for _, m := range [][]string{
		{"--group", "uwsportal-auditors", "--role", "auditor"},
		{"--group", "fleet-leads", "--role", "lead", "--department", "fleet"},
		{"--group", "fleet-members", "--role", "member", "--department", "fleet"},
		{"--group", "field-ops-leads", "--role", "lead", "--department", "field-ops"},
	} {
		if err := quietRun("", append([]string{"map-group"}, m...)...); err != nil {
			return err
		}
	}
	for _, d := range demoDepartments {
		if err := quietRun("", "department", "set", "--slug", d.slug, "--account", d.account); err != nil {
			return err
		}
		sim.SeedDevices(d.account, d.devices, int64(len(d.slug)))
	}
	for _, d := range demoDepartments {
		pw := models.GeneratePassword("Demo", d.username)
		sim.SetUser(d.username, pw)
		if err := quietRun(pw+"\n", "credential", "set", "--department", d.slug, "--username", d.username); err != nil {
			return err
		}
	}
	if err := ageDemoCredential(ctx, getenv("DATABASE_URL")); err != nil {
		return err
	}
	return followDemo(ctx, getenv, sim)
}

var demoDepartments = []struct {
	slug, name, protocol, username, account string
	devices                                 int
}{
	{"fleet", "Fleet Operations", "rest", "fleet_ops_mycompanyUWS", "0000123456-00001", 420},
	{"field-ops", "Field Services", "soap", "field_services_mycompanyUWS", "0000123456-00002", 260},
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

// ageDemoCredential makes one demo credential due soon (80 of 90 days old),
// so the dashboard shows what a due credential looks like.
func ageDemoCredential(ctx context.Context, dsn string) error {
	cfg, err := pgxpool.ParseConfig(dsn) // takes the URL's pool_max_conns off
	if err != nil {
		return err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `UPDATE credentials SET password_changed_at = now() - interval '80 days', last_rotated_at = now() - interval '80 days'
		WHERE department_id = (SELECT id FROM departments WHERE slug = 'field-ops')`)
	return err
}
