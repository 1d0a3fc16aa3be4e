package testdb

import (
	"context"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/store"
)

// RoundTripFloor is the least database work an audited request does, made
// with bare pgx on a benchmark's database: one read before ThingSpace is
// called (the session, who may do what) and one durable commit after it
// (the audit). A benchmark wraps its direct call in Around, so the floor's
// round trips are made at the pace the portal makes its own: on a machine
// whose idle cores sleep, a round trip to a database that has waited
// through an upstream call costs more than one made back to back.
type RoundTripFloor struct {
	db *store.DB
	n  int64
}

// NewRoundTripFloor makes the table the floor's commits write.
func NewRoundTripFloor(tb testing.TB, db *store.DB) *RoundTripFloor {
	tb.Helper()
	if _, err := db.Pool.Exec(context.Background(), `CREATE TABLE bench_floor (id bigint PRIMARY KEY)`); err != nil {
		tb.Fatal(err)
	}
	return &RoundTripFloor{db: db}
}

// Around reads one row, runs call, then commits one row durably, and
// returns how long the read and the commit took together.
func (f *RoundTripFloor) Around(tb testing.TB, call func()) time.Duration {
	ctx := context.Background()
	start := time.Now()
	var one int
	if err := f.db.Pool.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
		tb.Fatal(err)
	}
	read := time.Since(start)
	call()
	f.n++
	start = time.Now()
	if _, err := f.db.Pool.Exec(ctx, `INSERT INTO bench_floor (id) VALUES ($1)`, f.n); err != nil {
		tb.Fatal(err)
	}
	return read + time.Since(start)
}
