package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/uwsportal/uwsportal/internal/testdb"
)

// A browser that leaves a page while it loads (a click, a reload) cancels
// its request, and the handler's reads then fail with context.Canceled.
// That is the client's doing, not a fault of the portal: it is logged as
// status 499 at info level, not as an internal error.
func TestAClientThatLeftIsNotAnError(t *testing.T) {
	ts := newTestServer(t, testdb.New(t), nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest(http.MethodGet, "/departments/fleet/requests", nil).WithContext(ctx)
	c := ts.Server.echo.NewContext(req, httptest.NewRecorder())
	c.SetPath("/departments/:slug/requests")
	failing := func(echo.Context) error { return fmt.Errorf("list requests: %w", context.Canceled) }
	if err := ts.Server.accessLog(failing)(c); err != nil {
		t.Fatal(err)
	}
	// A read the page can do without (the dashboard's side reads).
	ts.Server.logFailure(c, "device request troubles", fmt.Errorf("troubles: %w", context.Canceled))
	logs := ts.Logs.String()
	if strings.Contains(logs, `"level":"ERROR"`) {
		t.Errorf("a client that left was logged as an error:\n%s", logs)
	}
	if !strings.Contains(logs, `"status":499`) {
		t.Errorf("the access log does not say the client closed the request (499):\n%s", logs)
	}
}

// The same error on a request whose client is still there is the portal's
// fault, and stays an internal error.
func TestACanceledReadWithTheClientStillThereIsAnError(t *testing.T) {
	ts := newTestServer(t, testdb.New(t), nil)
	req := httptest.NewRequest(http.MethodGet, "/departments/fleet/requests", nil)
	rec := httptest.NewRecorder()
	c := ts.Server.echo.NewContext(req, rec)
	failing := func(echo.Context) error { return fmt.Errorf("list requests: %w", context.Canceled) }
	if err := ts.Server.accessLog(failing)(c); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", rec.Code)
	}
	ts.Server.logFailure(c, "device request troubles", context.Canceled)
	for _, msg := range []string{"request failed", "device request troubles"} {
		if !strings.Contains(ts.Logs.String(), `"level":"ERROR","msg":"`+msg+`"`) {
			t.Errorf("an internal cancel was not logged as an error (%s):\n%s", msg, ts.Logs.String())
		}
	}
	if errors.Is(req.Context().Err(), context.Canceled) {
		t.Fatal("the test's client left")
	}
}
