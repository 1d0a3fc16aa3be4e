package web

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/uwsportal/uwsportal/models"
	"github.com/uwsportal/uwsportal/templates"
)

// statusOf maps an error to its HTTP status: the one place that does.
func statusOf(err error) int {
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		return he.Code
	case errors.Is(err, models.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, models.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, models.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, models.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, models.ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, models.ErrRateLimited):
		return http.StatusTooManyRequests
	case errors.Is(err, models.ErrUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// safeMessage is what the user may read: the domain error's own message, a
// generic text for its status, and never the detail of an internal error.
func safeMessage(err error, status int) string {
	if msg, ok := models.SafeMessage(err); ok && (status < 500 || status == http.StatusServiceUnavailable) {
		return msg
	}
	switch status {
	case http.StatusNotFound:
		return "The page you asked for does not exist."
	case http.StatusForbidden:
		return "You do not have permission to do that."
	case http.StatusUnauthorized:
		return "Please sign in."
	case http.StatusRequestEntityTooLarge:
		return "The request is too large."
	case http.StatusServiceUnavailable:
		return "The service is temporarily unavailable. Please try again shortly."
	}
	if status >= 500 {
		return "Internal error."
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		if m, ok := he.Message.(string); ok {
			return m
		}
	}
	return http.StatusText(status) + "."
}

// handleError is Echo's HTTPErrorHandler: an HTML page, or JSON when the
// client asks for it, with a safe message and the request ID; the cause goes
// to the log only.
func (s *Server) handleError(err error, c echo.Context) {
	rid := requestID(c)
	if clientLeft(c, err) {
		// Nobody reads an answer; the access log records 499, as proxies
		// do for a client that closed its request.
		s.log.Info("client went away", "err", err, "request_id", rid)
		if !c.Response().Committed {
			c.Response().WriteHeader(statusClientClosedRequest)
		}
		return
	}
	if c.Response().Committed {
		s.log.Error("error after response started", "err", err, "request_id", rid)
		return
	}
	status := statusOf(err)
	if status >= 500 {
		s.log.Error("request failed", "err", err, "status", status, "request_id", rid,
			"method", c.Request().Method, "path", c.Request().URL.Path)
	}
	if status == http.StatusForbidden {
		if p := principal(c); !p.Anonymous() {
			perm, _ := s.Policy(c.Request().Method, c.Path())
			s.people.Denied(c.Request().Context(), p, meta(c), c.Request().Method, c.Request().URL.Path, string(perm))
		}
	}
	msg := safeMessage(err, status)
	if wantsJSON(c) {
		_ = c.JSON(status, map[string]string{"error": msg, "request_id": rid})
		return
	}
	title := http.StatusText(status)
	if title == "" {
		title = "Error"
	}
	if status == http.StatusForbidden {
		title = "Access denied"
	}
	if err := render(c, status, templates.ErrorPage(s.page(c, title), templates.ErrorView{
		Status: status, Title: title, Message: msg, RequestID: rid,
	})); err != nil {
		s.log.Error("render error page", "err", err, "request_id", rid)
		_ = c.String(status, msg+" Request ID: "+rid)
	}
}

// statusClientClosedRequest is nginx's status for a request its client
// gave up on before the answer.
const statusClientClosedRequest = 499

// clientLeft tells whether err is the cancellation of a request whose client
// went away (left the page, clicked elsewhere, closed the connection), or a
// write to a client that no longer reads: its own doing, not a fault of the
// portal.
func clientLeft(c echo.Context, err error) bool {
	return errors.As(err, new(clientWriteError)) ||
		errors.Is(err, context.Canceled) && errors.Is(c.Request().Context().Err(), context.Canceled)
}

// clientWriteError is a failed write of a streamed answer to its client
// (the connection reset or closed, or the client reading too slowly),
// told apart from the same errors of the database's connections.
type clientWriteError struct{ err error }

func (e clientWriteError) Error() string { return "write to the client: " + e.err.Error() }
func (e clientWriteError) Unwrap() error { return e.err }

// logFailure logs what failed while serving c, unless its client left.
func (s *Server) logFailure(c echo.Context, msg string, err error) {
	if clientLeft(c, err) {
		return
	}
	s.log.Error(msg, "err", err, "request_id", requestID(c))
}

func wantsJSON(c echo.Context) bool {
	accept := c.Request().Header.Get("Accept")
	return strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html")
}

func requestID(c echo.Context) string {
	return c.Response().Header().Get(echo.HeaderXRequestID)
}
