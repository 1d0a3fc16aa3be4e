package store_test

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// planNode is the part of EXPLAIN (FORMAT JSON) the plan tests read.
type planNode struct {
	NodeType  string     `json:"Node Type"`
	IndexName string     `json:"Index Name"`
	IndexCond string     `json:"Index Cond"`
	Filter    string     `json:"Filter"`
	PlanRows  float64    `json:"Plan Rows"`
	Plans     []planNode `json:"Plans"`
}

func (n planNode) walk(fn func(planNode)) {
	fn(n)
	for _, c := range n.Plans {
		c.walk(fn)
	}
}

// explainSearch plans the exact query SearchAudit sends for f.
func explainSearch(t *testing.T, db *store.DB, f models.AuditFilter) planNode {
	t.Helper()
	sql, args := store.SearchSQLForTest(f, nil, false)
	return explain(t, db, sql, args)
}

// explain plans sql with args.
func explain(t *testing.T, db *store.DB, sql string, args []any) planNode {
	t.Helper()
	var raw []byte
	if err := db.Pool.QueryRow(context.Background(), "EXPLAIN (FORMAT JSON) "+sql, args...).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var plans []struct{ Plan planNode }
	if err := json.Unmarshal(raw, &plans); err != nil || len(plans) != 1 {
		t.Fatalf("%v %s", err, raw)
	}
	return plans[0].Plan
}

// A free-text search over a trail with statistics is served by the
// trigram index, asked for the phrase's rarest-looking word only (GIN
// intersecting the trigrams that every event holds was the cost): a
// regression to a sequential scan, or to walking the trail by id, fails.
func TestAuditTextSearchUsesTheTrigramIndex(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	if err := testdb.SeedAudit(context.Background(), db, 100_000); err != nil { // analyzed
		t.Fatal(err)
	}
	for _, text := range []string{"seeded event 4242", "Seeded Event 12345", "mallory", histogramWord(t, db)} {
		var found []planNode
		explainSearch(t, db, models.AuditFilter{Text: text, Limit: 50}).walk(func(n planNode) {
			if n.NodeType == "Seq Scan" || (n.NodeType == "Index Scan" && n.IndexName == "audit_events_pkey") {
				t.Errorf("%q: %s on %s: the search no longer uses the trigram index", text, n.NodeType, n.IndexName)
			}
			if n.IndexName == "audit_events_text_idx" {
				found = append(found, n)
			}
		})
		if len(found) != 1 || strings.Contains(strings.ToLower(found[0].IndexCond), "event") {
			t.Errorf("%q: want one scan of audit_events_text_idx for the rare word only, got %+v", text, found)
		}
		// Before the index, the events nearest the cursor, in id order and
		// no more than the walk's limit of them.
		sql, args := store.TextWalkSQLForTest(models.AuditFilter{Text: text, Limit: 50})
		var bounded bool
		explain(t, db, sql, args).walk(func(n planNode) {
			if n.NodeType == "Seq Scan" || n.IndexName == "audit_events_text_idx" {
				t.Errorf("%q: the walk reads %s %s", text, n.NodeType, n.IndexName)
			}
			if n.NodeType == "Limit" && len(n.Plans) == 1 && n.Plans[0].IndexName == "audit_events_pkey" && n.PlanRows <= 5000 {
				bounded = true
			}
		})
		if !bounded {
			t.Errorf("%q: the walk is not a bounded read of the primary key", text)
		}
	}
}

// histogramWord is a search for one rare event whose number ANALYZE
// happened to sample into the text expression's histogram: Postgres then
// estimates the word in 1 event of 100, and with ORDER BY id … LIMIT it
// chose to walk the trail by id for it, 4.4 s over a million events for
// the one it holds.
func histogramWord(t *testing.T, db *store.DB) string {
	t.Helper()
	var bound string
	err := db.Pool.QueryRow(context.Background(), `SELECT (histogram_bounds::text::text[])[50] FROM pg_stats
		WHERE tablename = 'audit_events_text_idx'`).Scan(&bound)
	if err != nil {
		t.Fatalf("the text expression has no histogram: %v", err)
	}
	m := regexp.MustCompile(`"n": (\d+)`).FindStringSubmatch(bound)
	if m == nil {
		t.Fatalf("no event number in the histogram bound %q", bound)
	}
	return "seeded event " + m[1]
}

// The text matches exactly what it matched when the whole text was the
// trigram index's condition: a case-insensitive substring of actor, name,
// target and detail, wildcards literal.
func TestAuditTextSearchMatchesAsBefore(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	seedVaried(t, db, 60)
	ctx := context.Background()
	// The default (the planner's plan); a walk of 7 events, the index
	// finding the rest; the same after the planner's plan ran out of time.
	for _, mode := range []struct {
		walk int
		plan time.Duration
	}{{0, 0}, {7, 0}, {7, time.Nanosecond}} {
		walk := mode.walk
		db.SetTextSearchForTest(mode.walk, mode.plan)
		for _, text := range []string{"user a", "USER B 1", "note-3", `"n": 4`, "100% sure", "100%", "under_score", "under score",
			`back\slash`, "fleet-api", "uws:fleet-api user", " note-1", "note-1 ", "a  b", "Ü", "x", "42 note", "zzz nothing 7",
			"User\tA", "\u00a0note", "r 10", ": 1", "User C 10", "note-1\"", "1, \"note"} {
			got, err := db.SearchAudit(ctx, models.AuditFilter{Text: text, Limit: models.AuditPageMax}, nil)
			if err != nil {
				t.Fatal(err)
			}
			want, err := db.Pool.Query(ctx, `SELECT id FROM audit_events WHERE (actor || ' ' || actor_name || ' ' || target || ' ' || detail::text)
			ILIKE '%' || replace(replace(replace($1, '\', '\\'), '%', '\%'), '_', '\_') || '%' ORDER BY id DESC`, text)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for want.Next() {
				var id int64
				if err := want.Scan(&id); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
			}
			if err := want.Err(); err != nil {
				t.Fatal(err)
			}
			var gotIDs []int64
			for _, e := range got {
				gotIDs = append(gotIDs, e.ID)
			}
			if !slices.Equal(gotIDs, ids) {
				t.Errorf("walk %d, %q: got %v, want %v", walk, text, gotIDs, ids)
			}
		}
	}
}

// A search whose page the walk does not fill goes on through the index,
// older events and, paging forward, newer ones: paged five at a time both
// ways with a walk of 7 events, it finds every matching event once, in
// order.
func TestAuditTextSearchPagesAcrossTheWalk(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	seedVaried(t, db, 60)
	db.SetTextSearchForTest(7, 0)
	ctx := context.Background()
	for _, text := range []string{"user a", "note-1", "x", "zzz nothing 7"} {
		all, err := db.SearchAudit(ctx, models.AuditFilter{Text: text, Limit: models.AuditPageMax}, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := ids(all)
		var older []int64
		f := models.AuditFilter{Text: text, Limit: 5}
		for {
			page, err := db.SearchAudit(ctx, f, nil)
			if err != nil {
				t.Fatal(err)
			}
			older = append(older, ids(page)...)
			if len(page) < 5 {
				break
			}
			f.Before = page[len(page)-1].ID
		}
		if !slices.Equal(older, want) {
			t.Errorf("%q paged older: got %v, want %v", text, older, want)
		}
		if len(want) < 2 {
			continue
		}
		var newer []int64
		f = models.AuditFilter{Text: text, Limit: 5, After: want[len(want)-1]}
		for {
			page, err := db.SearchAudit(ctx, f, nil)
			if err != nil {
				t.Fatal(err)
			}
			newer = append(ids(page), newer...)
			if len(page) < 5 {
				break
			}
			f.After = page[0].ID
		}
		if !slices.Equal(newer, want[:len(want)-1]) {
			t.Errorf("%q paged newer: got %v, want %v", text, newer, want[:len(want)-1])
		}
	}
}

// The newest checkpoint and the newest full verification are found through
// their partial indexes, not by reading every audit.verified event (the
// seeded trail holds hundreds).
func TestAuditCheckpointLookupsUseTheirIndexes(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	if err := testdb.SeedAudit(context.Background(), db, 20_000); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"audit_events_checkpoint_idx", "audit_events_full_verify_idx"} {
		var raw []byte
		if err := db.Pool.QueryRow(context.Background(), "EXPLAIN (FORMAT JSON) "+store.CheckpointSQLForTest[i]).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		var plans []struct{ Plan planNode }
		if err := json.Unmarshal(raw, &plans); err != nil || len(plans) != 1 {
			t.Fatalf("%v %s", err, raw)
		}
		used := false
		plans[0].Plan.walk(func(n planNode) { used = used || n.IndexName == want })
		if !used {
			t.Errorf("%s: not used: %s", want, raw)
		}
	}
}
