package web

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// healthz says the process is up; it touches nothing else, and tells
// nobody which version runs (that helps only an attacker pick an exploit;
// operators read it from the log line at start or from the metrics).
func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz says the database answers and the schema is one this binary runs
// against: at or ahead of what it needs (a newer release may have migrated
// it during a rolling upgrade) and within what it understands, and the
// master keys open every sealed row's key.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.db.Pool.Ping(ctx); err != nil {
		s.log.Warn("readyz: database does not answer", "err", err)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "database does not answer"})
	}
	sch, err := s.db.Schema(ctx)
	if err != nil {
		s.log.Warn("readyz: schema version", "err", err)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "cannot read schema version"})
	}
	if err := sch.Ready(); err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "reason": err.Error(), "schema": sch})
	}
	if err := s.keysChecked.check(ctx, s.checkKeys); err != nil {
		// The message names key IDs (not secret) so the operator knows
		// which key to put back.
		s.log.Error("readyz: master key", "err", err)
		return c.JSON(http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "reason": err.Error(), "schema": sch})
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "ok", "schema": sch})
}

// keyCheckCache remembers a passed master key check for a while: the check
// reads every table with a key_id column, and probes come every few
// seconds. A failed check is not remembered, so a fixed key shows at once.
type keyCheckCache struct {
	mu     sync.Mutex
	passed time.Time
}

const keyCheckTTL = 30 * time.Second

func (k *keyCheckCache) check(ctx context.Context, f func(context.Context) error) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if time.Since(k.passed) < keyCheckTTL {
		return nil
	}
	if err := f(ctx); err != nil {
		return err
	}
	k.passed = time.Now()
	return nil
}
