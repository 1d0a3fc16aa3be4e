package web

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

func TestErrorHandlerHidesInternalsAndShowsRequestID(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testdb.New(t), nil)
	ts.route(http.MethodGet, "/boom", models.PermPublic, func(c echo.Context) error {
		return errors.New("pq: relation secret_table password=hunter2 does not exist")
	})
	ts.route(http.MethodGet, "/panic", models.PermPublic, func(c echo.Context) error { panic("kaboom detail") })
	ts.route(http.MethodGet, "/invalid", models.PermPublic, func(c echo.Context) error {
		return models.Errorf(models.ErrInvalid, "The slug must be lower-case.")
	})
	for _, path := range []string{"/boom", "/panic"} {
		res, body := get(t, ts.URL+path)
		rid := res.Header.Get("X-Request-Id")
		if res.StatusCode != 500 || rid == "" || !strings.Contains(body, rid) || !strings.Contains(body, "Internal error.") {
			t.Fatalf("%s: status %d, request id %q, body %s", path, res.StatusCode, rid, body)
		}
		if strings.Contains(body, "hunter2") || strings.Contains(body, "secret_table") || strings.Contains(body, "kaboom") {
			t.Fatalf("%s: internals leaked: %s", path, body)
		}
		if !strings.Contains(ts.Logs.String(), rid) {
			t.Fatalf("%s: the log does not carry the request id", path)
		}
	}
	if !strings.Contains(ts.Logs.String(), "hunter2") && !strings.Contains(ts.Logs.String(), "kaboom") {
		t.Fatal("the detail should reach the log")
	}
	res, body := get(t, ts.URL+"/boom", "Accept", "application/json")
	if res.StatusCode != 500 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") ||
		!strings.Contains(body, `"request_id"`) || strings.Contains(body, "hunter2") {
		t.Fatalf("json: %d %s", res.StatusCode, body)
	}
	res, body = get(t, ts.URL+"/invalid")
	if res.StatusCode != 400 || !strings.Contains(body, "The slug must be lower-case.") {
		t.Fatalf("domain error: %d %s", res.StatusCode, body)
	}
	res, body = get(t, ts.URL+"/no-such-page")
	if res.StatusCode != 404 || !strings.Contains(body, "does not exist") {
		t.Fatalf("404: %d %s", res.StatusCode, body)
	}
}

func TestSecurityHeadersAndStaticCaching(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testdb.New(t), map[string]string{"UWSPORTAL_BASE_URL": "https://portal.example.com"})
	res, _ := get(t, ts.URL+"/healthz")
	h := res.Header
	csp := h.Get("Content-Security-Policy")
	if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("csp: %q", csp)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" || !strings.Contains(h.Get("Strict-Transport-Security"), "max-age=") {
		t.Fatalf("headers: %v", h)
	}
	css := ts.assets.Path("css/app.css")
	if css == "" || css == "/static/css/app.css" {
		t.Fatalf("no cache-busted name: %q", css)
	}
	res, body := get(t, ts.URL+css)
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") || !strings.Contains(body, ":root") {
		t.Fatalf("static: %d %v", res.StatusCode, res.Header)
	}
	if res, _ := get(t, ts.URL+"/static/css/app.css"); res.StatusCode != 404 {
		t.Fatalf("unhashed name served: %d", res.StatusCode)
	}
}

func TestNoHSTSOnPlainHTTP(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testdb.New(t), nil)
	res, _ := get(t, ts.URL+"/healthz")
	if res.Header.Get("Strict-Transport-Security") != "" {
		t.Fatal("HSTS over http")
	}
}

// /readyz fails while the database is unreachable and recovers by itself.
func TestReadyzFollowsTheDatabase(t *testing.T) {
	t.Parallel()
	proxy, dsn := testdb.NewProxy(t, testdb.URL(t))
	db, err := store.Open(context.Background(), dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	ts := newTestServer(t, db, nil)
	if res, body := get(t, ts.URL+"/readyz"); res.StatusCode != 200 {
		t.Fatalf("ready: %d %s", res.StatusCode, body)
	}
	proxy.Down()
	if res, body := get(t, ts.URL+"/readyz"); res.StatusCode != 503 {
		t.Fatalf("down: %d %s", res.StatusCode, body)
	}
	if res, _ := get(t, ts.URL+"/healthz"); res.StatusCode != 200 {
		t.Fatalf("healthz must not depend on the database: %d", res.StatusCode)
	}
	proxy.Up()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, body := get(t, ts.URL+"/readyz")
		if res.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("did not recover: %d %s", res.StatusCode, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestReadyzFailsWhenSchemaIsBehind(t *testing.T) {
	t.Parallel()
	db, err := store.Open(context.Background(), testdb.EmptyURL(t), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	ts := newTestServer(t, db, nil)
	if res, body := get(t, ts.URL+"/readyz"); res.StatusCode != 503 {
		t.Fatalf("unmigrated: %d %s", res.StatusCode, body)
	}
}
