package web

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// healthz says the process is up; it touches nothing else, and tells
// nobody which version runs (that helps only an attacker pick an exploit;
// operators read it from the log line at start or from the metrics).
func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz says the database answers and the schema is at the latest migration.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.db.Pool.Ping(ctx); err != nil {
		s.log.Warn("readyz: database does not answer", "err", err)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "database does not answer"})
	}
	cur, latest, err := s.db.SchemaVersion(ctx)
	if err != nil {
		s.log.Warn("readyz: schema version", "err", err)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "cannot read schema version"})
	}
	if cur != latest {
		return c.JSON(http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "reason": "schema not at the latest migration", "schema": cur, "latest": latest})
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "ok", "schema": cur})
}
