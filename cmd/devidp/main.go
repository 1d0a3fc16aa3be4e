// Command devidp runs the development OpenID Connect provider (see
// internal/devidp) for the demo, local development and browser tests:
//
//	go run ./cmd/devidp                       # http://127.0.0.1:9091, client uwsportal
//	go run ./cmd/devidp -addr 127.0.0.1:9092 -redirect-uri http://127.0.0.1:8081/auth/callback
//
// It only listens on loopback: it signs anyone in as any demo user.
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
	"syscall"
	"time"

	"github.com/uwsportal/uwsportal/internal/devidp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "devidp:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends, then shuts down gracefully.
func run(ctx context.Context, args []string, getenv func(string) string) error {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	// The OIDC library logs through the default logger.
	slog.SetDefault(logger)

	opts, err := parseOptions(args, getenv)
	if err != nil {
		return err
	}
	if opts.defaultSecret {
		logger.Warn("using the well-known development client secret; set DEVIDP_CLIENT_SECRET or -client-secret to change it", "client_id", opts.clientID)
	}
	ln, err := net.Listen("tcp", opts.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", opts.addr, err)
	}
	defer ln.Close()
	issuer := opts.issuer
	if issuer == "" {
		// From the bound address, so that -addr 127.0.0.1:0 works.
		issuer = "http://" + ln.Addr().String()
	}
	handler, err := devidp.New(devidp.Config{
		Issuer:                 issuer,
		ClientID:               opts.clientID,
		ClientSecret:           opts.clientSecret,
		RedirectURIs:           opts.redirectURIs,
		PostLogoutRedirectURIs: opts.postLogoutURIs,
	})
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           logRequests(logger, handler),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("devidp listening: development identity provider, never for production",
		"addr", ln.Addr().String(), "issuer", issuer, "client_id", opts.clientID,
		"redirect_uris", opts.redirectURIs, "post_logout_redirect_uris", opts.postLogoutURIs)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("devidp stopped")
	return nil
}
