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
	"github.com/uwsportal/uwsportal/internal/rotation"
	"github.com/uwsportal/uwsportal/internal/store"
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
	gc := portal.TuneGC(a.getenv)
	m := metrics.New()
	m.SetBuildInfo(Version)
	pa, err := portal.Open(ctx, portal.Env{Getenv: a.getenv, Log: log, Metrics: m}, cfg, Version)
	if err != nil {
		return err
	}
	defer pa.DB.Close()
	if err := checkSchema(ctx, pa, cfg.AutoMigrate, log); err != nil {
		return err
	}
	if err := checkKeys(ctx, pa, log); err != nil {
		return err
	}
	if on, err := pa.DB.AuditVacuumed(ctx); err == nil && !on {
		log.Warn("autovacuum is off for the audit trail: searches over past time windows will read the table; turn it on (Postgres's default) or VACUUM audit_events regularly")
	}
	srv, err := web.New(web.Deps{App: pa, Version: Version})
	if err != nil {
		return err
	}
	eps, err := listenAll(cfg, srv, log)
	if err != nil {
		return err
	}
	bg := startBackground(ctx, cfg, pa, log)
	// Deferred after the database's Close, so it runs first: the scheduler
	// may still be using the database while it winds down.
	defer bg.Wait()
	errc := make(chan error, len(eps))
	for _, ep := range eps {
		go func() { errc <- ep.server.Serve(ep.ln) }()
	}
	log.Info("serving", "url", cfg.BaseURL.String(), "addr", eps[0].ln.Addr().String(), "version", Version, "gogc", gc)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	return shutdown(cfg.ShutdownTimeout, eps, pa, log)
}

// checkSchema refuses to serve a schema this binary does not understand
// (newer than it knows, or contracted past it), before and after applying
// migrations when asked to. A schema behind the binary is only logged:
// /readyz keeps the instance out of rotation until a migration job runs.
func checkSchema(ctx context.Context, pa *portal.App, autoMigrate bool, log *slog.Logger) error {
	sch, err := pa.DB.Schema(ctx)
	if err != nil {
		return err
	}
	if err := sch.Understood(); err != nil {
		return err
	}
	if autoMigrate {
		if err := migrateOnStart(ctx, pa, log); err != nil {
			return err
		}
		if sch, err = pa.DB.Schema(ctx); err != nil {
			return err
		}
	}
	if err := sch.Ready(); err != nil {
		if errors.Is(err, store.ErrSchemaNotUnderstood) {
			return err
		}
		log.Warn("not ready until migrated", "err", err)
	}
	return nil
}

// checkKeys refuses to serve with master keys that cannot open the sealed
// data (naming the key ID missing), then records a key-check value for
// each configured key that has none.
func checkKeys(ctx context.Context, pa *portal.App, log *slog.Logger) error {
	sch, err := pa.DB.Schema(ctx)
	if err != nil || sch.Current < sch.Needs {
		return err // not migrated yet: /readyz checks the keys once it is
	}
	if err := pa.CheckKeys(ctx); err != nil {
		return err
	}
	if err := pa.RecordKeyChecks(ctx); err != nil {
		return err
	}
	log.Info("master keys open the sealed data", "current_key_id", pa.Keys.CurrentID())
	return nil
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

// startBackground, once the schema is migrated (at once, unless a
// migration job has yet to run), resolves rotations a dead instance left
// half done and runs the notification worker, the daily audit chain
// verification and, when enabled, the rotation scheduler until ctx ends;
// the caller waits on the returned group before closing the database.
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
	bg.Add(1)
	go func() {
		defer bg.Done()
		if !waitForSchema(ctx, pa, log) {
			return
		}
		resolveStuckRotations(ctx, pa, log)
		run("notification worker", pa.NotificationWorker().Run)
		run("audit watch", pa.Audit.Watch)
		run("device requests", pa.Requests.Run)
		if cfg.SchedulerEnabled {
			run("scheduler", pa.Rotation.NewScheduler(rotation.SchedulerOptions{}).Run)
		}
	}()
	return &bg
}

// waitForSchema returns true once the schema is one this binary runs
// against: background work never runs on a schema behind the code (a new
// instance may start before the migration job ends), false if ctx ends.
func waitForSchema(ctx context.Context, pa *portal.App, log *slog.Logger) bool {
	for logged := false; ; logged = true {
		sch, err := pa.DB.Schema(ctx)
		if err == nil && sch.Ready() == nil {
			return true
		}
		if !logged {
			log.Warn("background work waits for the schema", "err", errors.Join(err, sch.Ready()))
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(2 * time.Second):
		}
	}
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
