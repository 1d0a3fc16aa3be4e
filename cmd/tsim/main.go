// Command tsim runs the ThingSpace simulator (internal/tsim) for the demo and
// for manual tests. It is test-only: its /_tsim/ admin API reveals passwords.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/uwsportal/uwsportal/internal/tsim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "tsim:", err)
		os.Exit(1)
	}
}

// userFlags collects repeated -user name:password flags.
type userFlags map[string]string

func (u userFlags) String() string { return fmt.Sprintf("%d users", len(u)) }

func (u userFlags) Set(v string) error {
	name, pw, ok := strings.Cut(v, ":")
	if !ok || name == "" || pw == "" {
		return errors.New("want name:password")
	}
	if err := tsim.CheckPassword(pw); err != nil {
		return fmt.Errorf("user %s: %w", name, err)
	}
	u[name] = pw
	return nil
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	users := userFlags{}
	var (
		addr      = fs.String("addr", "127.0.0.1:9090", "listen address")
		appKey    = fs.String("app-key", "tsim-app-key", "OAuth app key accepted by the token endpoint")
		appSecret = fs.String("app-secret", "tsim-app-secret", "OAuth app secret accepted by the token endpoint")
		usersFile = fs.String("users-file", "", "file of name:password lines (# comments allowed)")
		idle      = fs.Duration("session-idle", 20*time.Minute, "session idle expiry")
		bearerTTL = fs.Duration("bearer-ttl", time.Hour, "bearer token lifetime")
		lockout   = fs.Int("lockout", 5, "consecutive failed logins that lock an account")
		tokenWait = fs.Duration("token-latency", 0, "delay of every OAuth token answer (a slow token endpoint)")
		devices   = fs.Int("devices", 0, "seed this many devices into -device-account (0: no device inventory)")
		devAcct   = fs.String("device-account", "0000123456-00001", "billing account name of the seeded devices")
		devSeed   = fs.Int64("device-seed", 1, "seed of the generated devices")
		async     = fs.Duration("async", 0, "complete device actions this long after answering, with status reads and callbacks (0: at once)")
	)
	fs.Var(users, "user", "a UWS user as name:password (repeatable)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *usersFile != "" {
		if err := readUsers(*usersFile, users); err != nil {
			return err
		}
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	sim := tsim.New(tsim.Options{
		AppKey: *appKey, AppSecret: *appSecret, Users: users,
		SessionIdle: *idle, BearerTTL: *bearerTTL, Lockout: *lockout, Logger: log,
	})
	sim.SetTokenLatency(*tokenWait)
	if *async > 0 {
		sim.SetAsync(tsim.AsyncOptions{Delay: *async, Retry: 30 * time.Second})
	}
	if *devices < 0 {
		return errors.New("-devices must not be negative")
	}
	if *devices > 0 {
		sim.SeedDevices(*devAcct, *devices, *devSeed)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	log.Info("tsim listening", "addr", ln.Addr().String(), "users", len(users), "devices", *devices,
		"rest", "http://"+ln.Addr().String(), "soap", "http://"+ln.Addr().String()+"/api/v2/SessionService.svc")
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

func readUsers(path string, users userFlags) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("users file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := users.Set(line); err != nil {
			return fmt.Errorf("users file %s line %d: %w", path, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("users file %s: %w", path, err)
	}
	return nil
}
