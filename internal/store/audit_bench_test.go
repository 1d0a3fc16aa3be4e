package store_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// benchRows is the size of the seeded trail the single-size benchmarks
// use; these benchmarks run only with -bench and reuse the seeded
// databases across runs.
const benchRows = 1_000_000

// benchSizesEnv lists the trail sizes (events, comma-separated) of the
// benchmarks that run at several; by default 1M and 3M. Seeding 3M takes
// about three times 1M's two minutes, once: the database is kept.
const benchSizesEnv = "UWSPORTAL_BENCH_AUDIT_SIZES"

// forSizes runs fn as one sub-benchmark per trail size, named events=N.
func forSizes(b *testing.B, fn func(b *testing.B, n int)) {
	sizes := os.Getenv(benchSizesEnv)
	if sizes == "" {
		sizes = "1000000,3000000"
	}
	for _, f := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < testdb.SeedPerDay {
			b.Fatalf("%s: %q is not a size of at least a day of events (%d)", benchSizesEnv, f, testdb.SeedPerDay)
		}
		b.Run("events="+strconv.Itoa(n), func(b *testing.B) { fn(b, n) })
	}
}

// benchFilter is an auditor's typical question: one person in one
// department over the last 30 days of a trail of n seeded events.
func benchFilter(n int) models.AuditFilter {
	until := testdb.SeedStart.Add(time.Duration(n) * testdb.SeedStep)
	return models.AuditFilter{Actor: "1007", Department: "dept03", Since: until.AddDate(0, 0, -30), Until: until, Limit: 50}
}

// p95 of the durations, in milliseconds.
func p95(d []time.Duration) float64 {
	slices.Sort(d)
	return float64(d[len(d)*95/100].Microseconds()) / 1000
}

func BenchmarkAuditSearchFilteredPage(b *testing.B) {
	forSizes(b, func(b *testing.B, n int) {
		db := testdb.BenchAudit(b, n)
		f := benchFilter(n)
		if got, err := db.SearchAudit(context.Background(), f, nil); err != nil || len(got) == 0 {
			b.Fatalf("the filter finds nothing: %v", err)
		}
		searchP95(b, db, f)
	})
}

// BenchmarkAuditSearchPastWindow is a department over 30 days that ended
// half a year before the trail's end: the planner's plan walked the trail
// back by id to it, and it is read through the window's index once that
// plan has run 5 ms.
func BenchmarkAuditSearchPastWindow(b *testing.B) {
	forSizes(b, func(b *testing.B, n int) {
		db := testdb.BenchAudit(b, n)
		until := testdb.SeedStart.Add(time.Duration(n)*testdb.SeedStep).AddDate(0, -6, 0)
		f := models.AuditFilter{Department: "dept03", Since: until.AddDate(0, 0, -30), Until: until, Limit: 50}
		if got, err := db.SearchAudit(context.Background(), f, nil); err != nil || len(got) == 0 {
			b.Fatalf("the window holds nothing: %v", err)
		}
		searchP95(b, db, f)
	})
}

// BenchmarkAuditSearchTextPage searches a phrase of two words every seeded
// event holds and a number: the trigram index is asked for the number.
func BenchmarkAuditSearchTextPage(b *testing.B) {
	forSizes(b, func(b *testing.B, n int) {
		db := testdb.BenchAudit(b, n)
		f := models.AuditFilter{Text: "seeded event 4242", Limit: 50}
		if got, err := db.SearchAudit(context.Background(), f, nil); err != nil || len(got) == 0 {
			b.Fatalf("the search finds nothing: %v", err)
		}
		searchP95(b, db, f)
	})
}

// searchP95 times SearchAudit for f and reports its p95.
func searchP95(b *testing.B, db *store.DB, f models.AuditFilter) {
	ctx := context.Background()
	var lat []time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if _, err := db.SearchAudit(ctx, f, nil); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.ReportMetric(p95(lat), "p95-ms")
}

// rssKB reads the process's resident set size; 0 where there is no /proc
// (not Linux). It may run off the benchmark's goroutine: failures go to
// tb.Error.
func rssKB(tb testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if errors.Is(err, fs.ErrNotExist) {
		return 0
	}
	if err != nil {
		tb.Error(err)
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "VmRSS:" {
			n, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				tb.Errorf("VmRSS: %v", err)
			}
			return n
		}
	}
	return 0
}

// BenchmarkAuditExportRows streams the whole trail through the store and
// reports rows/s and the peak resident memory and heap while it runs.
func BenchmarkAuditExportRows(b *testing.B) {
	forSizes(b, func(b *testing.B, n int) {
		db := testdb.BenchAudit(b, n)
		runtime.GC()
		for b.Loop() {
			exportOnce(b, db, n)
		}
	})
}

func exportOnce(b *testing.B, db *store.DB, n int) {
	var peakRSS, peakHeap atomic.Int64
	done := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if r := rssKB(b); r > peakRSS.Load() {
				peakRSS.Store(r)
			}
			runtime.ReadMemStats(&ms)
			if h := int64(ms.HeapInuse); h > peakHeap.Load() {
				peakHeap.Store(h)
			}
		}
	}()
	start := time.Now()
	got, err := db.ExportAudit(context.Background(), models.AuditFilter{}, nil, func(*models.AuditEvent) error { return nil })
	close(done)
	if err != nil || got != int64(n) {
		b.Fatal(err, got)
	}
	b.ReportMetric(float64(got)/time.Since(start).Seconds(), "rows/s")
	b.ReportMetric(float64(peakRSS.Load())/1024, "peak-rss-MB")
	b.ReportMetric(float64(peakHeap.Load())/(1<<20), "peak-heap-MB")
}

// BenchmarkAuditVerify walks the whole chain. s-at-10M is the time
// extrapolated linearly to ten million events (the walk reads each event
// once, in id order).
func BenchmarkAuditVerify(b *testing.B) {
	forSizes(b, func(b *testing.B, n int) {
		db := testdb.BenchAudit(b, n)
		for b.Loop() {
			start := time.Now()
			res, err := db.VerifyAudit(context.Background())
			if err != nil || !res.OK || res.Events != int64(n) {
				b.Fatalf("%v %+v", err, res)
			}
			s := time.Since(start).Seconds()
			b.ReportMetric(s, "s/verify")
			b.ReportMetric(s*10_000_000/float64(n), "s-at-10M")
		}
	})
}

// BenchmarkAuditVerifyIncremental walks the last day of the seeded trail
// (testdb.SeedPerDay events) from a checkpoint just before it, as the
// daily automatic check does; the seeded database is only read.
func BenchmarkAuditVerifyIncremental(b *testing.B) {
	forSizes(b, func(b *testing.B, n int) {
		db := testdb.BenchAudit(b, n)
		ctx := context.Background()
		cp := store.Checkpoint{Through: int64(n - testdb.SeedPerDay)}
		if err := db.Pool.QueryRow(ctx, `SELECT hash FROM audit_events WHERE id = $1`, cp.Through).Scan(&cp.Hash); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			start := time.Now()
			res, err := db.VerifyAuditFrom(ctx, cp)
			if err != nil || !res.OK || res.Events != int64(testdb.SeedPerDay) || res.Full {
				b.Fatalf("%v %+v", err, res)
			}
			b.ReportMetric(time.Since(start).Seconds(), "s/verify")
			b.ReportMetric(float64(res.Events), "events")
		}
	})
}

// BenchmarkAuditConcurrentWrites appends from 8 writers to a fresh trail
// and checks the chain afterwards.
func BenchmarkAuditConcurrentWrites(b *testing.B) {
	db := testdb.New(b)
	ctx := context.Background()
	const writers, each = 8, 1000
	for b.Loop() {
		var wg sync.WaitGroup
		start := time.Now()
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					if err := db.AuditAlone(ctx, event(w*each+i)); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		b.ReportMetric(float64(writers*each)/time.Since(start).Seconds(), "writes/s")
	}
	res, err := db.VerifyAudit(ctx)
	if err != nil || !res.OK {
		b.Fatalf("chain broken after concurrent writes: %v %+v", err, res)
	}
	b.Logf("chain intact: %d events", res.Events)
}

// BenchmarkAuditConcurrentWritesPgx is the same through the pgx writer,
// without GORM's transaction wrapper.
func BenchmarkAuditConcurrentWritesPgx(b *testing.B) {
	db := testdb.New(b)
	ctx := context.Background()
	const writers, each = 8, 1000
	for b.Loop() {
		var wg sync.WaitGroup
		start := time.Now()
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error { return db.AuditPgx(ctx, tx, event(w*each+i)) })
					if err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		b.ReportMetric(float64(writers*each)/time.Since(start).Seconds(), "writes/s")
	}
	if res, err := db.VerifyAudit(ctx); err != nil || !res.OK {
		b.Fatalf("chain broken after concurrent writes: %v %+v", err, res)
	}
}
