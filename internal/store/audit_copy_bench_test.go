package store_test

import (
	"context"
	"io"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/testdb"
)

// copyCounter discards what it is given and counts the bytes.
type copyCounter struct{ n int64 }

func (c *copyCounter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

var _ io.Writer = (*copyCounter)(nil)

// BenchmarkAuditExportCopy is the floor for the export: Postgres writes the
// same columns of the whole trail, in id order, as CSV with COPY TO STDOUT,
// and the client only counts the bytes. Nothing is decoded or encoded in Go.
func BenchmarkAuditExportCopy(b *testing.B) {
	db := testdb.BenchAudit(b, benchRows)
	ctx := context.Background()
	const query = `COPY (SELECT id, occurred_at, code, actor, actor_name, actor_roles, department, target, outcome,
		source_ip, user_agent, request_id, detail::text, prev_hash, hash FROM audit_events ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER)`
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SET statement_timeout = 0`); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	for b.Loop() {
		var peakRSS atomic.Int64
		done := make(chan struct{})
		go func() {
			for {
				select {
				case <-done:
					return
				case <-time.After(50 * time.Millisecond):
				}
				if r := rssKB(b); r > peakRSS.Load() {
					peakRSS.Store(r)
				}
			}
		}()
		var out copyCounter
		start := time.Now()
		tag, err := conn.Conn().PgConn().CopyTo(ctx, &out, query)
		elapsed := time.Since(start)
		close(done)
		if err != nil || tag.RowsAffected() != benchRows {
			b.Fatal(err, tag.RowsAffected())
		}
		b.ReportMetric(float64(tag.RowsAffected())/elapsed.Seconds(), "rows/s")
		b.ReportMetric(float64(out.n)/(1<<20), "MB")
		b.ReportMetric(float64(peakRSS.Load())/1024, "peak-rss-MB")
	}
	// The pooled connection goes back with the pool's usual timeout.
	if _, err := conn.Exec(ctx, `RESET statement_timeout`); err != nil {
		b.Fatal(err)
	}
}
