package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	portal "github.com/uwsportal/uwsportal/internal/app"
	"github.com/uwsportal/uwsportal/internal/config"
	"github.com/uwsportal/uwsportal/internal/metrics"
	"github.com/uwsportal/uwsportal/internal/notify"
	"github.com/uwsportal/uwsportal/internal/rotation"
	"github.com/uwsportal/uwsportal/web"
)

// serve runs the portal until ctx ends: open and (optionally) migrate the
// database, build the web server, listen, tidy rotations a dead instance
// left behind, start the scheduler, serve, and shut down within the grace
// period.
func (a *app) serve(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return &exitError{code: 2, err: fmt.Errorf("serve takes no arguments; configure it with environment variables")}
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	log := a.logger(cfg.LogLevel)
	pa, err := portal.Open(ctx, portal.Env{Getenv: a.getenv, Log: log, Metrics: metrics.New()}, cfg, Version)
	if err != nil {
		return err
	}
	defer pa.DB.Close()
	if cfg.AutoMigrate {
		if err := migrateOnStart(ctx, pa, log); err != nil {
			return err
		}
	}
	srv, err := web.New(web.Deps{App: pa, Version: Version})
	if err != nil {
		return err
	}
	eps, err := listenAll(cfg, srv, log)
	if err != nil {
		return err
	}
	resolveStuckRotations(ctx, pa, log)
	bg := startBackground(ctx, cfg, pa, log)
	// Deferred after the database's Close, so it runs first: the scheduler
	// may still be using the database while it winds down.
	defer bg.Wait()
	errc := make(chan error, len(eps))
	for _, ep := range eps {
		go func() { errc <- ep.server.Serve(ep.ln) }()
	}
	log.Info("serving", "url", cfg.BaseURL.String(), "addr", eps[0].ln.Addr().String(), "version", Version)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	return shutdown(cfg.ShutdownTimeout, eps, pa, log)
}

// migrateOnStart applies pending migrations and records them in the audit
// trail, for UWSPORTAL_AUTO_MIGRATE.
func migrateOnStart(ctx context.Context, pa *portal.App, log *slog.Logger) error {
	n, err := pa.DB.Migrate(ctx)
	if err != nil {
		return err
	}
	log.Info("migrations applied", "count", n)
	return auditMigrated(ctx, pa.DB, nil, n)
}

// endpoint is one HTTP server and the listener it serves.
type endpoint struct {
	server *http.Server
	ln     net.Listener
}

// listenAll opens the main listener and, when configured, a separate one
// for /metrics. The main endpoint is always first. If the second listen
// fails the first is closed, so a failed start leaves no port held.
func listenAll(cfg *config.Config, srv *web.Server, log *slog.Logger) ([]endpoint, error) {
	ln, err := listen(cfg.Addr, "UWSPORTAL_ADDR")
	if err != nil {
		return nil, err
	}
	eps := []endpoint{{newHTTPServer(srv.Handler(), log), ln}}
	if cfg.MetricsAddr != "" {
		mln, err := listen(cfg.MetricsAddr, "UWSPORTAL_METRICS_ADDR")
		if err != nil {
			ln.Close()
			return nil, err
		}
		eps = append(eps, endpoint{newHTTPServer(srv.MetricsHandler(), log), mln})
	}
	return eps, nil
}

// resolveStuckRotations resolves, at start-up, a rotation a dead instance
// left half done (the scheduler keeps doing so every pass). A failure is
// logged, not fatal: the scheduler will try again.
func resolveStuckRotations(ctx context.Context, pa *portal.App, log *slog.Logger) {
	if n, err := pa.Rotation.ResolveStuck(ctx); err != nil {
		log.Error("resolve stuck rotations", "err", err)
	} else if n > 0 {
		log.Warn("resolved rotations left unfinished by a stopped instance", "count", n)
	}
}

// startBackground runs the notification worker, the daily audit chain
// verification and, when enabled, the rotation scheduler until ctx ends; the caller waits on the returned group
// before closing the database.
func startBackground(ctx context.Context, cfg *config.Config, pa *portal.App, log *slog.Logger) *sync.WaitGroup {
	var bg sync.WaitGroup
	run := func(name string, f func(context.Context) error) {
		bg.Add(1)
		go func() {
			defer bg.Done()
			if err := f(ctx); err != nil && ctx.Err() == nil {
				log.Error(name+" stopped", "err", err)
			}
		}()
	}
	// The worker also expires approvals nobody used in time, on every
	// instance (each expiry is audited once).
	run("notification worker", pa.Notify.NewWorker(notify.WorkerOptions{Sweeps: []func(context.Context) (int, error){pa.Approvals.ExpireDue}}).Run)
	run("audit watch", pa.Audit.Watch)
	run("device requests", pa.Requests.Run)
	if cfg.SchedulerEnabled {
		run("scheduler", pa.Rotation.NewScheduler(rotation.SchedulerOptions{}).Run)
	}
	return &bg
}

// shutdown stops the servers and then waits for rotations in flight, all
// within one grace period.
func shutdown(grace time.Duration, eps []endpoint, pa *portal.App, log *slog.Logger) error {
	log.Info("shutting down", "grace", grace.String())
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	var errs []error
	for _, ep := range eps {
		if err := ep.server.Shutdown(sctx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown: %w", err))
		}
	}
	// A rotation in flight runs to its end (it may hold a password
	// ThingSpace will not say again): wait for it beyond the grace period,
	// up to its own deadline, before the database is closed.
	log.Info("waiting for rotations in flight", "at_most", pa.Rotation.Deadline().String())
	rctx, rcancel := context.WithTimeout(context.Background(), pa.Rotation.Deadline())
	defer rcancel()
	if err := pa.Rotation.Wait(rctx); err != nil {
		errs = append(errs, fmt.Errorf("shutdown: a rotation was still running at its deadline: %w", err))
	}
	log.Info("stopped")
	return errors.Join(errs...)
}

func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		// Exports extend their own write deadline as they stream.
		WriteTimeout:   60 * time.Second,
		IdleTimeout:    120 * time.Second,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// listen explains the common failure in one line.
func listen(addr, variable string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("address %s is already in use: stop the other process or set %s", addr, variable)
	}
	return ln, err
}
