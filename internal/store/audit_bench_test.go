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

	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// benchRows is the size of the seeded trail; these benchmarks run only with
// -bench and reuse the seeded database across runs.
const benchRows = 1_000_000

// benchFilter is an auditor's typical question: one person in one
// department over the last 30 days of the seeded year.
func benchFilter() models.AuditFilter {
	until := testdb.SeedStart.Add(benchRows * testdb.SeedStep)
	return models.AuditFilter{Actor: "1007", Department: "dept03", Since: until.AddDate(0, 0, -30), Until: until, Limit: 50}
}

// p95 of the durations, in milliseconds.
func p95(d []time.Duration) float64 {
	slices.Sort(d)
	return float64(d[len(d)*95/100].Microseconds()) / 1000
}

func BenchmarkAuditSearchFilteredPage(b *testing.B) {
	db := testdb.BenchAudit(b, benchRows)
	ctx := context.Background()
	f := benchFilter()
	if got, err := db.SearchAudit(ctx, f, nil); err != nil || len(got) == 0 {
		b.Fatalf("the filter finds nothing: %v", err)
	}
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

func BenchmarkAuditSearchTextPage(b *testing.B) {
	db := testdb.BenchAudit(b, benchRows)
	ctx := context.Background()
	f := models.AuditFilter{Text: "seeded event 4242", Limit: 50}
	var lat []time.Duration
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
	db := testdb.BenchAudit(b, benchRows)
	ctx := context.Background()
	runtime.GC()
	for b.Loop() {
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
		n, err := db.ExportAudit(ctx, models.AuditFilter{}, nil, func(*models.AuditEvent) error { return nil })
		close(done)
		if err != nil || n != benchRows {
			b.Fatal(err, n)
		}
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "rows/s")
		b.ReportMetric(float64(peakRSS.Load())/1024, "peak-rss-MB")
		b.ReportMetric(float64(peakHeap.Load())/(1<<20), "peak-heap-MB")
	}
}

func BenchmarkAuditVerify(b *testing.B) {
	db := testdb.BenchAudit(b, benchRows)
	for b.Loop() {
		start := time.Now()
		res, err := db.VerifyAudit(context.Background())
		if err != nil || !res.OK || res.Events != benchRows {
			b.Fatalf("%v %+v", err, res)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/verify")
	}
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
