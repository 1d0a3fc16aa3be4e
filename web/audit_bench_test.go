package web

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

const benchRows = 1_000_000

// benchServer serves the seeded benchmark trail and returns a client
// signed in as an auditor (the test helpers take *testing.T only).
func benchServer(b *testing.B) (*store.DB, string, *http.Client) {
	b.Helper()
	db := testdb.BenchAudit(b, benchRows)
	pa := benchApp(b, db, map[string]string{})
	s, err := New(Deps{App: pa, Version: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	b.Cleanup(hs.Close)
	ctx := context.Background()
	var user models.User
	err = db.WithTx(ctx, func(tx *store.Tx) error {
		user, err = db.UpsertSignIn(ctx, tx, models.User{Issuer: "bench", Subject: "auditor", Name: "Bench Auditor",
			Grants: []models.Grant{{Role: models.RoleAuditor}}}, time.Now())
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
	jar, err := cookiejar.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	u, err := url.Parse(hs.URL)
	if err != nil {
		b.Fatal(err)
	}
	jar.SetCookies(u, []*http.Cookie{{Name: "uwsportal_session", Value: token, Path: "/"}})
	return pa.DB, hs.URL, &http.Client{Jar: jar}
}

func benchP95(d []time.Duration) float64 {
	slices.Sort(d)
	return float64(d[len(d)*95/100].Microseconds()) / 1000
}

// BenchmarkAuditPageHTTP: the filtered first page (actor + department + 30
// days) through HTTP, against the same query straight through pgx.
func BenchmarkAuditPageHTTP(b *testing.B) {
	db, base, c := benchServer(b)
	until := testdb.SeedStart.Add(benchRows * testdb.SeedStep)
	f := models.AuditFilter{Actor: "1007", Department: "dept03", Since: until.AddDate(0, 0, -30), Until: until, Limit: 50}
	page := base + "/audit?" + f.Query().Encode()
	get := func() {
		res, err := c.Get(page)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, res.Body); err != nil {
			b.Fatal(err)
		}
		if err := res.Body.Close(); err != nil {
			b.Fatal(err)
		}
		if res.StatusCode != 200 {
			b.Fatalf("status %d", res.StatusCode)
		}
	}
	get()
	var httpLat, sqlLat []time.Duration
	ctx := context.Background()
	for b.Loop() {
		start := time.Now()
		get()
		httpLat = append(httpLat, time.Since(start))
		start = time.Now()
		if rows, err := db.SearchAudit(ctx, f, nil); err != nil || len(rows) == 0 {
			b.Fatal(err, len(rows))
		}
		sqlLat = append(sqlLat, time.Since(start))
	}
	h, q := benchP95(httpLat), benchP95(sqlLat)
	b.ReportMetric(h, "http-p95-ms")
	b.ReportMetric(q, "sql-p95-ms")
	b.ReportMetric(float64(httpLat[len(httpLat)/2].Microseconds())/1000, "http-p50-ms")
	b.ReportMetric(float64(sqlLat[len(sqlLat)/2].Microseconds())/1000, "sql-p50-ms")
	b.ReportMetric(h/q, "http/sql")
}

// BenchmarkAuditExportHTTP streams the whole trail as CSV and as NDJSON.
func BenchmarkAuditExportHTTP(b *testing.B) {
	_, base, c := benchServer(b)
	for _, format := range []string{"csv", "ndjson"} {
		b.Run(format, func(b *testing.B) {
			token := benchCSRF(b, c, base+"/audit/export."+format)
			for b.Loop() {
				req, err := http.NewRequest(http.MethodPost, base+"/audit/export."+format,
					strings.NewReader(url.Values{"csrf_token": {token}}.Encode()))
				if err != nil {
					b.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Accept-Encoding", "identity")
				stop := samplePeakRSS(b)
				start := time.Now()
				res, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				lines := &lineCounter{}
				n, err := io.Copy(lines, res.Body)
				if err != nil || res.StatusCode != 200 {
					b.Fatal(err, res.StatusCode)
				}
				if err := res.Body.Close(); err != nil {
					b.Fatal(err)
				}
				// Every event, one per line (CSV adds its header): a figure
				// for a page that is not the export would be meaningless.
				if lines.n < benchRows {
					b.Fatalf("the %s export has %d lines for %d events", format, lines.n, benchRows)
				}
				b.ReportMetric(float64(lines.n)/time.Since(start).Seconds(), "rows/s")
				b.ReportMetric(float64(n)/(1<<20), "MB")
				b.ReportMetric(float64(stop())/1024, "peak-rss-MB")
			}
		})
	}
}

// benchCSRF reads the CSRF token of the form page at url.
func benchCSRF(b *testing.B, c *http.Client, url string) string {
	b.Helper()
	res, err := c.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.Fatal(err)
	}
	if err := res.Body.Close(); err != nil {
		b.Fatal(err)
	}
	m := csrfInput.FindSubmatch(body)
	if m == nil {
		b.Fatalf("no CSRF token on %s (%d)", url, res.StatusCode)
	}
	return string(m[1])
}

// lineCounter counts the lines written to it.
type lineCounter struct{ n int }

func (l *lineCounter) Write(p []byte) (int, error) {
	l.n += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}

// samplePeakRSS watches this process's resident memory (server and client
// together) until the returned function is called, which gives the peak in KiB.
// It samples off the benchmark's goroutine: a status it cannot read goes to
// tb.Error.
func samplePeakRSS(tb testing.TB) func() int64 {
	done := make(chan int64)
	go func() {
		var peak int64
		for {
			select {
			case done <- peak:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if b, err := os.ReadFile("/proc/self/status"); err == nil {
				for _, line := range strings.Split(string(b), "\n") {
					if f := strings.Fields(line); len(f) > 1 && f[0] == "VmRSS:" {
						n, err := strconv.ParseInt(f[1], 10, 64)
						if err != nil {
							tb.Errorf("VmRSS: %v", err)
						}
						peak = max(peak, n)
					}
				}
			}
		}
	}()
	return func() int64 { return <-done }
}
