package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/uwsportal/uwsportal/internal/app"
	"github.com/uwsportal/uwsportal/internal/clock"
	"github.com/uwsportal/uwsportal/internal/config"
	"github.com/uwsportal/uwsportal/internal/departments"
	"github.com/uwsportal/uwsportal/internal/metrics"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// The floor benchmarks serve in process (ServeHTTP into a recorder, no
// sockets), so BenchmarkDashboardHandler / BenchmarkBareEchoHandler is what
// the portal's middleware stack, session, principal lookup, credential
// query and template add on top of Echo writing the same bytes.

// floorDepartments is how many departments (each with a credential) the
// benchmark dashboard shows.
const floorDepartments = 5

// benchApp builds the portal for a benchmark over db, with env on top of a
// fixed master key.
func benchApp(b *testing.B, db *store.DB, env map[string]string) *app.App {
	b.Helper()
	app.TuneGC(os.Getenv) // as serve runs
	env["UWSPORTAL_MASTER_KEY"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		b.Fatal(err)
	}
	keys, err := secret.ParseKeys(env["UWSPORTAL_MASTER_KEY"])
	if err != nil {
		b.Fatal(err)
	}
	up, err := app.UpstreamConfig(cfg, "bench", clock.System)
	if err != nil {
		b.Fatal(err)
	}
	pa, err := app.New(app.Parts{Config: cfg, DB: db, Keys: keys, Upstream: up, Log: slog.New(slog.DiscardHandler), Metrics: metrics.New()})
	if err != nil {
		b.Fatal(err)
	}
	return pa
}

// dashboardBench builds a server on a fresh database with a few departments
// and credentials, and returns it with the cookie of a signed-in admin.
func dashboardBench(b *testing.B) (*Server, *http.Cookie) {
	b.Helper()
	db := testdb.New(b)
	// ThingSpace is never called: nothing here logs in upstream.
	pa := benchApp(b, db, map[string]string{"THINGSPACE_URL": "http://127.0.0.1:9", "THINGSPACE_APP_KEY": "bench", "THINGSPACE_APP_SECRET": "bench"})
	svc := pa.Departments
	s, err := New(Deps{App: pa, Version: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	admin := &models.Principal{Actor: "bench", Name: "Bench Setup", Grants: []models.Grant{{Role: models.RoleAdmin}}}
	for i := range floorDepartments {
		slug := fmt.Sprintf("bench-%02d", i)
		d := models.Department{Slug: slug, Name: fmt.Sprintf("Bench Department %02d", i), Protocol: models.ProtocolREST, MaxAgeDays: 90, ScheduleEnabled: true}
		if _, err := svc.CreateDepartment(ctx, admin, models.RequestMeta{}, d); err != nil {
			b.Fatal(err)
		}
		user := fmt.Sprintf("bench_%02d_mycompanyUWS", i)
		pw := secret.Secret(models.GeneratePassword("Bench", user))
		if err := svc.SetCredential(ctx, admin, models.RequestMeta{}, departments.CredentialInput{Department: slug, Username: user, Password: pw}); err != nil {
			b.Fatal(err)
		}
	}
	return s, benchSession(b, s, db)
}

// benchSession signs a bench admin in and returns the session cookie.
func benchSession(b *testing.B, s *Server, db *store.DB) *http.Cookie {
	b.Helper()
	ctx := context.Background()
	var user models.User
	err := db.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		user, err = db.UpsertSignIn(ctx, tx, models.User{Issuer: "bench", Subject: "admin", Name: "Bench Admin",
			Grants: []models.Grant{{Role: models.RoleAdmin}}}, time.Now())
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	sctx, err := s.sessions.Load(ctx, "")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().Unix()
	s.sessions.Put(sctx, keyUser, user.ID)
	s.sessions.Put(sctx, keyCreated, now)
	s.sessions.Put(sctx, keySeen, now)
	token, _, err := s.sessions.Commit(sctx)
	if err != nil {
		b.Fatal(err)
	}
	return &http.Cookie{Name: "uwsportal_session", Value: token}
}

// serveOnce sends GET / to h in process and returns the body.
func serveOnce(b *testing.B, h http.Handler, cookie *http.Cookie) []byte {
	return serveGet(b, h, "/", cookie)
}

// serveGet sends GET path to h in process and returns the body.
func serveGet(b *testing.B, h http.Handler, path string, cookie *http.Cookie) []byte {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.RemoteAddr = "127.0.0.1:40000"
	if cookie != nil {
		req.AddCookie(cookie)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("GET %s: status %d", path, rec.Code)
	}
	return rec.Body.Bytes()
}

// loopP95 runs fn in the benchmark loop and reports its p95 latency.
func loopP95(b *testing.B, fn func()) {
	var lat []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		fn()
		lat = append(lat, time.Since(start))
	}
	if len(lat) > 0 {
		b.ReportMetric(benchP95(lat), "p95-ms")
	}
}

// BenchmarkDashboardHandler: GET / for a signed-in admin through the whole
// middleware stack (request ID, access log, recover, headers, session from
// Postgres, principal, CSRF, authorisation) and the dashboard handler.
func BenchmarkDashboardHandler(b *testing.B) {
	s, cookie := dashboardBench(b)
	h := s.Handler()
	body := serveOnce(b, h, cookie)
	if !strings.Contains(string(body), "Bench Department 00") {
		b.Fatal("the dashboard does not show the seeded departments")
	}
	b.SetBytes(int64(len(body)))
	loopP95(b, func() { serveOnce(b, h, cookie) })
}

// BenchmarkBareEchoHandler is the floor: a bare Echo router whose one
// handler writes the same dashboard page from memory.
func BenchmarkBareEchoHandler(b *testing.B) {
	s, cookie := dashboardBench(b)
	page := serveOnce(b, s.Handler(), cookie)
	e := echo.New()
	e.GET("/", func(c echo.Context) error { return c.HTMLBlob(http.StatusOK, page) })
	b.SetBytes(int64(len(page)))
	loopP95(b, func() { serveOnce(b, e, nil) })
}
