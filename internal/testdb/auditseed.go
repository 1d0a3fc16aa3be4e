package testdb

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/uwsportal/uwsportal/internal/devdb"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

// Shape of the seeded benchmark trail: n events spread over a year, from
// SeedActors actors across SeedDepartments departments.
const (
	SeedActors      = 200
	SeedDepartments = 20
)

// SeedStart is the time of the first seeded event; event i is i*SeedStep later.
var SeedStart = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// SeedStep spaces n = 1,000,000 events over about a year.
const SeedStep = 30 * time.Second

// SeedPerDay is the seeded trail's events per day.
const SeedPerDay = int(24 * time.Hour / SeedStep)

// SeedEvent is the i-th (0-based) seeded event, before id and hashes.
func SeedEvent(i int) *models.AuditEvent {
	codes := models.Catalogue
	actor := i % SeedActors
	p := &models.Principal{Actor: fmt.Sprint(1000 + actor), Name: fmt.Sprintf("Person %03d", actor),
		Grants: []models.Grant{{Role: models.RoleLead, Department: fmt.Sprintf("dept%02d", (i/SeedActors)%SeedDepartments)}}}
	e := models.NewEvent(codes[i%len(codes)].Code, p, models.RequestMeta{
		SourceIP: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), UserAgent: "Mozilla/5.0 (bench)", RequestID: fmt.Sprintf("req-%08d", i),
	}).With("n", i, "purpose", "bench", "note", fmt.Sprintf("seeded event %d", i))
	e.Department = fmt.Sprintf("dept%02d", (i/SeedActors)%SeedDepartments)
	e.Target = "uws:" + e.Department
	e.Outcome = models.Outcomes[i%7%3]
	e.Time = SeedStart.Add(time.Duration(i) * SeedStep)
	return e
}

// SeedAudit appends n events to an empty trail in one COPY, computing the
// hash chain in Go exactly as the writer does, then moves the head to the
// last event (its trigger only allows +1 steps, so it is switched off for
// that one update, inside the same transaction).
func SeedAudit(ctx context.Context, db *store.DB, n int) error {
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
		return err
	}
	var seq int64
	if err := tx.QueryRow(ctx, `SELECT seq FROM audit_head FOR UPDATE`).Scan(&seq); err != nil {
		return err
	}
	if seq != 0 {
		return fmt.Errorf("seed audit: the trail already holds %d events", seq)
	}
	prev := models.GenesisHash
	var lastPrev []byte
	i := 0
	cols := []string{"id", "occurred_at", "code", "actor", "actor_name", "actor_roles", "department", "target",
		"outcome", "source_ip", "user_agent", "request_id", "detail", "prev_hash", "hash"}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"audit_events"}, cols, pgx.CopyFromFunc(func() ([]any, error) {
		if i == n {
			return nil, nil
		}
		e := SeedEvent(i)
		i++
		id := int64(i)
		e.Time = e.Time.UTC().Truncate(time.Microsecond)
		hash := models.ChainHash(prev, id, e.Canonical())
		row := []any{id, e.Time, e.Code, e.Actor, e.ActorName, e.ActorRoles, e.Department, e.Target,
			string(e.Outcome), e.SourceIP, e.UserAgent, e.RequestID, string(models.CanonicalJSON(e.Detail)), prev, hash}
		lastPrev, prev = prev, hash
		return row, nil
	}))
	if err != nil {
		return fmt.Errorf("seed audit: copy: %w", err)
	}
	for _, stmt := range []string{
		`ALTER TABLE audit_head DISABLE TRIGGER USER`,
		fmt.Sprintf(`UPDATE audit_head SET seq = %d, prev_hash = $1, hash = $2`, n),
		`ALTER TABLE audit_head ENABLE TRIGGER USER`,
	} {
		var args []any
		if stmt[0] == 'U' {
			args = []any{lastPrev, prev}
		}
		if _, err := tx.Exec(ctx, stmt, args...); err != nil {
			return fmt.Errorf("seed audit: %s: %w", stmt, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	return vacuum(ctx, db)
}

// vacuum does what autovacuum does to a trail in service (the bench
// machine's Postgres may run without it): the visibility map lets the
// window's indexes answer without reading the table, and the statistics
// are fresh.
func vacuum(ctx context.Context, db *store.DB) error {
	_, err := db.Pool.Exec(ctx, `VACUUM (ANALYZE) audit_events`)
	return err
}

// trailClock is a clock that starts at the seeded trail's last event, so a
// search's "now" is the trail's, whatever day the benchmark runs.
func trailClock(n int) func() time.Time {
	opened := time.Now()
	end := SeedStart.Add(time.Duration(n) * SeedStep)
	return func() time.Time { return end.Add(time.Since(opened)) }
}

// BenchAudit returns the shared benchmark database holding exactly n seeded
// events, reusing it across runs and rebuilding it when its trail is not
// the seeded one of that size (a previous run appended to it, or n changed).
func BenchAudit(tb testing.TB, n int) *store.DB {
	tb.Helper()
	ctx := context.Background()
	server := ServerURL(tb)
	// One database per size, kept: switching sizes does not reseed.
	name := "uwsportal_bench_audit"
	if n != 1_000_000 {
		name += fmt.Sprintf("_%d", n)
	}
	u, err := devdb.WithDatabase(server, name)
	if err != nil {
		tb.Fatal(err)
	}
	opts := store.Options{MaxConns: 16, Now: trailClock(n)}
	if db, err := store.Open(ctx, u, opts); err == nil {
		var seq, count int64
		var version int64
		_ = db.Pool.QueryRow(ctx, `SELECT (SELECT seq FROM audit_head), (SELECT count(*) FROM audit_events)`).Scan(&seq, &count)
		cur, latest, verr := db.SchemaVersion(ctx)
		version = cur
		if verr == nil && version == latest && seq == int64(n) && count == int64(n) {
			tb.Cleanup(db.Close)
			var vacuumed bool
			_ = db.Pool.QueryRow(ctx, `SELECT coalesce(last_vacuum, last_autovacuum) IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'audit_events'`).Scan(&vacuumed)
			if !vacuumed {
				if err := vacuum(ctx, db); err != nil {
					tb.Fatal(err)
				}
			}
			return db
		}
		db.Close()
	}
	Drop(server, name)
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+template); err != nil {
		tb.Fatalf("create bench database: %v", err)
	}
	db, err := store.Open(ctx, u, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(db.Close)
	start := time.Now()
	if err := SeedAudit(ctx, db, n); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("seeded %d audit events in %s", n, time.Since(start).Round(time.Millisecond))
	return db
}
