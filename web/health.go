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

// readyz says whether this instance may serve (app.App.Ready: the
// database, the schema's range, the master keys).
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	detail, err := s.ready(ctx)
	if err != nil {
		detail["status"], detail["reason"] = "unavailable", err.Error()
		return c.JSON(http.StatusServiceUnavailable, detail)
	}
	detail["status"] = "ok"
	return c.JSON(http.StatusOK, detail)
}
