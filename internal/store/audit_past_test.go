package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// A page over a time window reads the window's events, however far back
// the window lies. With ORDER BY id … LIMIT, Postgres walked the primary
// key back from the newest event, through every event after the window,
// when the filter was a department: 658 ms for one department over a
// month a year back, on a trail of 3 million events. If the planner's plan
// has not answered within 5 ms, the page's ids are read beside it from an
// index holding the filtered column, the time and the id: that query's
// plan must read the window through one, whatever the filter.
func TestAPastWindowReadsOnlyItsEvents(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	const n = 100_000                                                     // 35 days
	if err := testdb.SeedAudit(context.Background(), db, n); err != nil { // analyzed
		t.Fatal(err)
	}
	ctx := context.Background()
	since := testdb.SeedStart.Add(2 * 24 * time.Hour)
	window := models.AuditFilter{Since: since, Until: since.Add(3 * 24 * time.Hour), Limit: 50}
	last := testdb.SeedStart.Add(n * testdb.SeedStep)
	recent := models.AuditFilter{Since: last.Add(-3 * 24 * time.Hour), Until: last, Limit: 50}
	with := func(w models.AuditFilter, f func(*models.AuditFilter)) models.AuditFilter {
		f(&w)
		return w
	}
	lead := []string{"dept03", "dept11"}
	for _, c := range []struct {
		name        string
		f           models.AuditFilter
		departments []string // a lead's, nil for every department
	}{
		{"everything", window, nil},
		{"a department", with(window, func(f *models.AuditFilter) { f.Department = "dept03" }), nil},
		{"a person", with(window, func(f *models.AuditFilter) { f.Actor = "1007" }), nil},
		{"a person in a department", with(window, func(f *models.AuditFilter) { f.Actor, f.Department = "1007", "dept03" }), nil},
		{"a lead's departments", window, lead},
		{"a lead's departments, the second page", with(window, func(f *models.AuditFilter) { f.Before = 6000 }), lead},
		{"a person in a department, the last days", with(recent, func(f *models.AuditFilter) { f.Actor, f.Department = "1007", "dept03" }), nil},
	} {
		sql, args := store.SearchSQLForTest(c.f, c.departments, true)
		var walks, windowed []string
		explain(t, db, sql, args).walk(func(n planNode) {
			switch {
			case n.NodeType == "Seq Scan", n.IndexName == "audit_events_pkey" && n.Filter != "":
				walks = append(walks, n.NodeType+" "+n.IndexName+" "+n.Filter)
			case windowIndexes[n.IndexName] && strings.Contains(n.IndexCond, "occurred_at"):
				windowed = append(windowed, n.IndexName)
			}
		})
		if len(walks) > 0 || len(windowed) == 0 {
			t.Errorf("%s: the page walks the trail (%v) instead of reading the window through an index (%v):\n%s", c.name, walks, windowed, sql)
		}
		// The same page both ways: the planner's plan alone (it answers
		// within an hour), then the window's indexes alone.
		want := seededPage(n, c.f, c.departments)
		for _, hedge := range []time.Duration{time.Hour, 0} {
			db.SetWindowHedgeForTest(hedge)
			got, err := db.SearchAudit(ctx, c.f, c.departments)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, e := range got {
				ids = append(ids, e.ID)
			}
			if !slices.Equal(ids, want) {
				t.Errorf("%s (hedge %v): page %v, want %v", c.name, hedge, ids, want)
			}
		}
	}
}

// windowIndexes hold the time and the id after the filtered columns.
var windowIndexes = map[string]bool{"audit_events_time_id_idx": true, "audit_events_dept_time_idx": true,
	"audit_events_actor_time_idx": true, "audit_events_dept_actor_time_idx": true}

// seededPage is the page of ids SearchAudit must return for f on the
// seeded trail of n events (event i has id i+1), worked out from the
// seeded events themselves.
func seededPage(n int, f models.AuditFilter, departments []string) []int64 {
	var ids []int64
	for i := n - 1; i >= 0 && len(ids) < f.Limit; i-- {
		e := testdb.SeedEvent(i)
		id := int64(i + 1)
		switch {
		case e.Time.Before(f.Since), !f.Until.IsZero() && !e.Time.Before(f.Until),
			f.Department != "" && e.Department != f.Department,
			f.Actor != "" && e.Actor != f.Actor,
			departments != nil && !slices.Contains(departments, e.Department),
			f.Before > 0 && id >= f.Before:
			continue
		}
		ids = append(ids, id)
	}
	return ids
}

// A window that ended at least as long ago as it lasted is read from the
// window's indexes alone: the planner's walk back from the newest event
// is not started beside it (on two cores, racing it made a department's
// month half a year back cost 58 ms at p95 instead of 2 ms). A window that
// ended recently still goes to the planner first, which answers it from
// the newest events.
func TestALongPastWindowIsReadFromItsIndexAlone(t *testing.T) {
	t.Parallel()
	const n = 20_000 // about 7 days
	last := testdb.SeedStart.Add(n * testdb.SeedStep)
	rt := &store.RoundTrips{Whole: true}
	db, err := store.Open(context.Background(), testdb.URL(t), store.Options{MaxConns: 4, RoundTrips: rt, Now: func() time.Time { return last }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if err := testdb.SeedAudit(context.Background(), db, n); err != nil {
		t.Fatal(err)
	}
	day := 24 * time.Hour
	for _, c := range []struct {
		name    string
		f       models.AuditFilter
		indexed bool // read from the window's index alone
	}{
		{"a day that ended five days ago", models.AuditFilter{Department: "dept03", Since: testdb.SeedStart.Add(day), Until: testdb.SeedStart.Add(2 * day), Limit: 50}, true},
		{"two days that ended two days ago", models.AuditFilter{Department: "dept03", Since: last.Add(-4 * day), Until: last.Add(-2 * day), Limit: 50}, true},
		{"three days that ended two days ago", models.AuditFilter{Department: "dept03", Since: last.Add(-5 * day), Until: last.Add(-2 * day), Limit: 50}, false},
		{"the last day", models.AuditFilter{Department: "dept03", Since: last.Add(-day), Until: last, Limit: 50}, false},
		{"since a day, no end", models.AuditFilter{Department: "dept03", Since: testdb.SeedStart.Add(day), Limit: 50}, false},
	} {
		var got []models.AuditEvent
		sent := rt.Count(func() { got, err = db.SearchAudit(context.Background(), c.f, nil) })
		if err != nil {
			t.Fatal(err)
		}
		var searches []string
		for _, s := range sent {
			if strings.HasPrefix(s, "SELECT") && strings.Contains(s, "FROM audit_events") { // not the prepares
				searches = append(searches, s)
			}
		}
		windowed := len(searches) > 0 && strings.Contains(searches[0], "id IN (SELECT id")
		if c.indexed && (len(searches) != 1 || !windowed) || !c.indexed && (len(searches) == 0 || windowed) {
			t.Errorf("%s: sent %d searches, the first through the window's index: %v (want %v)\n%s", c.name, len(searches), windowed, c.indexed, strings.Join(searches, "\n"))
		}
		var ids []int64
		for _, e := range got {
			ids = append(ids, e.ID)
		}
		if want := seededPage(n, c.f, nil); !slices.Equal(ids, want) {
			t.Errorf("%s: page %v, want %v", c.name, ids, want)
		}
	}
}
