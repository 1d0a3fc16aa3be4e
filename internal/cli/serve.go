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

	"github.com/uwsportal/uwsportal/internal/metrics"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/service"
	"github.com/uwsportal/uwsportal/web"
)

func (a *app) serve(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return &exitError{code: 2, err: fmt.Errorf("serve takes no arguments; configure it with environment variables")}
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	log := a.logger(cfg.LogLevel)
	db, err := a.openDB(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	if cfg.AutoMigrate {
		n, err := db.Migrate(ctx)
		if err != nil {
			return err
		}
		log.Info("migrations applied", "count", n)
		if err := auditMigrated(ctx, db, nil, n); err != nil {
			return err
		}
	}
	keys, err := secret.LoadKeyring(a.getenv, secret.ReadKeyFile)
	if err != nil {
		return err
	}
	m := metrics.New()
	svc := service.New(db, log, m)
	svc.AdminGroups = cfg.AdminGroups
	svc.Keyring = keys
	if svc.Upstream, err = service.UpstreamFromConfig(cfg, Version); err != nil {
		return err
	}
	srv, err := web.New(web.Deps{Config: cfg, DB: db, Log: log, Metrics: m, Service: svc, Keyring: keys, Version: Version})
	if err != nil {
		return err
	}
	ln, err := listen(cfg.Addr, "UWSPORTAL_ADDR")
	if err != nil {
		return err
	}
	servers := []*http.Server{newHTTPServer(srv.Handler(), log)}
	listeners := []net.Listener{ln}
	if cfg.MetricsAddr != "" {
		mln, err := listen(cfg.MetricsAddr, "UWSPORTAL_METRICS_ADDR")
		if err != nil {
			ln.Close()
			return err
		}
		servers = append(servers, newHTTPServer(srv.MetricsHandler(), log))
		listeners = append(listeners, mln)
	}
	// A rotation a dead instance left half done is resolved now (the
	// scheduler keeps doing so every pass).
	if n, err := svc.ResolveStuck(ctx); err != nil {
		log.Error("resolve stuck rotations", "err", err)
	} else if n > 0 {
		log.Warn("resolved rotations left unfinished by a stopped instance", "count", n)
	}
	var bg sync.WaitGroup
	if cfg.SchedulerEnabled {
		sched := svc.NewScheduler(service.SchedulerOptions{})
		bg.Add(1)
		go func() {
			defer bg.Done()
			if err := sched.Run(ctx); err != nil && ctx.Err() == nil {
				log.Error("scheduler stopped", "err", err)
			}
		}()
	}
	defer bg.Wait()
	errc := make(chan error, len(servers))
	for i, hs := range servers {
		go func() { errc <- hs.Serve(listeners[i]) }()
	}
	log.Info("serving", "url", cfg.BaseURL.String(), "addr", ln.Addr().String(), "version", Version)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	for _, hs := range servers {
		if err := hs.Shutdown(sctx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown: %w", err))
		}
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
