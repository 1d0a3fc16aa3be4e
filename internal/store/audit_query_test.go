package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

var seedStart = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

// seedVaried appends n events whose fields vary independently, and returns
// them as written (with ids).
func seedVaried(t testing.TB, db *store.DB, n int) []models.AuditEvent {
	t.Helper()
	codes := []string{models.EvSignInSucceeded, models.EvRotateStarted, models.EvRotateFailed, models.EvCredentialTested, models.EvAccessDenied}
	depts := []string{"fleet", "billing", "ops", ""}
	targets := []string{"uws:fleet-api", "100% sure", "under_score", `back\slash`, "=cmd|' /C calc'!A0"}
	out := make([]models.AuditEvent, 0, n)
	for i := range n {
		p := &models.Principal{Actor: fmt.Sprint(100 + i%4), Name: fmt.Sprintf("User %c", 'A'+i%4), Grants: []models.Grant{{Role: models.RoleLead, Department: depts[i%4]}}}
		e := models.NewEvent(codes[i%5], p, models.RequestMeta{SourceIP: "10.0.0.1", UserAgent: "test", RequestID: fmt.Sprint("r", i)}).
			With("n", i, "note", fmt.Sprintf("note-%d", i%7))
		e.Department = depts[(i/2)%4]
		e.Target = targets[i%5]
		e.Outcome = models.Outcomes[i%3]
		e.Time = seedStart.Add(time.Duration(i) * time.Hour)
		if err := db.AuditAlone(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		out = append(out, *e)
	}
	return out
}

func ids(events []models.AuditEvent) []int64 {
	out := make([]int64, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

// want lists, newest first, the seeded ids that match.
func want(seed []models.AuditEvent, match func(e models.AuditEvent) bool) []int64 {
	var out []int64
	for i := len(seed) - 1; i >= 0; i-- {
		if match(seed[i]) {
			out = append(out, seed[i].ID)
		}
	}
	return out
}

func TestSearchAuditEachFilter(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	seed := seedVaried(t, db, 60)
	ctx := context.Background()
	cases := map[string]struct {
		f     models.AuditFilter
		match func(e models.AuditEvent) bool
	}{
		"all":        {models.AuditFilter{}, func(models.AuditEvent) bool { return true }},
		"since":      {models.AuditFilter{Since: seedStart.Add(40 * time.Hour)}, func(e models.AuditEvent) bool { return e.ID > 40 }},
		"until":      {models.AuditFilter{Until: seedStart.Add(10 * time.Hour)}, func(e models.AuditEvent) bool { return e.ID <= 10 }},
		"actor":      {models.AuditFilter{Actor: "102"}, func(e models.AuditEvent) bool { return e.Actor == "102" }},
		"department": {models.AuditFilter{Department: "ops"}, func(e models.AuditEvent) bool { return e.Department == "ops" }},
		"code exact": {models.AuditFilter{CodePrefix: models.EvRotateFailed}, func(e models.AuditEvent) bool { return e.Code == models.EvRotateFailed }},
		"code prefix": {models.AuditFilter{CodePrefix: "credential.rotate"}, func(e models.AuditEvent) bool {
			return strings.HasPrefix(e.Code, "credential.rotate")
		}},
		"outcome":         {models.AuditFilter{Outcome: models.OutcomeDenied}, func(e models.AuditEvent) bool { return e.Outcome == models.OutcomeDenied }},
		"text in name":    {models.AuditFilter{Text: "user c"}, func(e models.AuditEvent) bool { return e.ActorName == "User C" }},
		"text in detail":  {models.AuditFilter{Text: "note-3"}, func(e models.AuditEvent) bool { return e.Detail["note"] == "note-3" }},
		"text percent":    {models.AuditFilter{Text: "100%"}, func(e models.AuditEvent) bool { return strings.Contains(e.Target, "100%") }},
		"text underscore": {models.AuditFilter{Text: "r_s"}, func(e models.AuditEvent) bool { return strings.Contains(e.Target, "r_s") }},
		"text backslash":  {models.AuditFilter{Text: `k\s`}, func(e models.AuditEvent) bool { return strings.Contains(e.Target, `k\s`) }},
		"combined": {models.AuditFilter{Actor: "101", Department: "fleet", Since: seedStart, Until: seedStart.Add(30 * time.Hour)}, func(e models.AuditEvent) bool {
			return e.Actor == "101" && e.Department == "fleet" && e.ID <= 30
		}},
		"before": {models.AuditFilter{Before: 20}, func(e models.AuditEvent) bool { return e.ID < 20 }},
	}
	for name, tc := range cases {
		tc.f.Limit = 500
		got, err := db.SearchAudit(ctx, tc.f, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		w := want(seed, tc.match)
		if len(w) == 0 && name != "none" {
			t.Fatalf("%s: the seed matches nothing; the test proves nothing", name)
		}
		if !slices.Equal(ids(got), w) {
			t.Errorf("%s: got %v\nwant %v", name, ids(got), w)
		}
	}
	// Detail and hashes come back whole.
	got, err := db.SearchAudit(ctx, models.AuditFilter{Limit: 1}, nil)
	if err != nil || len(got) != 1 || got[0].Detail["note"] == nil || len(got[0].Hash) != 32 || got[0].Time.IsZero() {
		t.Fatalf("%v %+v", err, got)
	}
	// After pages upwards, still newest first.
	got, err = db.SearchAudit(ctx, models.AuditFilter{After: 10, Limit: 3}, nil)
	if err != nil || !slices.Equal(ids(got), []int64{13, 12, 11}) {
		t.Fatalf("after: %v %v", err, ids(got))
	}
}

func TestSearchAuditDepartmentScope(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	seed := seedVaried(t, db, 24)
	ctx := context.Background()
	got, err := db.SearchAudit(ctx, models.AuditFilter{Limit: 500}, []string{"fleet", "ops"})
	if err != nil {
		t.Fatal(err)
	}
	if w := want(seed, func(e models.AuditEvent) bool { return e.Department == "fleet" || e.Department == "ops" }); !slices.Equal(ids(got), w) {
		t.Fatalf("got %v want %v", ids(got), w)
	}
	// A filter on another department finds nothing within the scope.
	got, err = db.SearchAudit(ctx, models.AuditFilter{Department: "billing"}, []string{"fleet"})
	if err != nil || len(got) != 0 {
		t.Fatalf("escaped the scope: %v %v", err, ids(got))
	}
	// An empty scope sees nothing, not everything.
	got, err = db.SearchAudit(ctx, models.AuditFilter{}, []string{})
	if err != nil || len(got) != 0 {
		t.Fatalf("empty scope: %v %v", err, ids(got))
	}
	n, err := db.ExportAudit(ctx, models.AuditFilter{}, []string{}, func(*models.AuditEvent) error { return nil })
	if err != nil || n != 0 {
		t.Fatalf("empty scope export: %v %d", err, n)
	}
}

// Paging while writers append: every id at or below the first page's top
// appears exactly once across the pages.
func TestSearchAuditPagingUnderConcurrentInserts(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	seedVaried(t, db, 300)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var written atomic.Int64
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				if err := db.AuditAlone(context.Background(), event(w*100000+i)); err != nil {
					t.Error(err)
					return
				}
				written.Add(1)
			}
		}()
	}
	defer func() { cancel(); wg.Wait() }()
	f := models.AuditFilter{Limit: 7}
	var top int64
	seen := map[int64]bool{}
	for pages := 0; ; pages++ {
		page, err := db.SearchAudit(context.Background(), f, nil)
		if err != nil {
			t.Fatal(err)
		}
		if pages == 0 {
			top = page[0].ID
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			if seen[e.ID] {
				t.Fatalf("id %d twice", e.ID)
			}
			seen[e.ID] = true
		}
		f.Before = page[len(page)-1].ID
		time.Sleep(time.Millisecond) // let the writers in between pages
	}
	cancel()
	wg.Wait()
	if int64(len(seen)) != top {
		t.Fatalf("saw %d ids, want every id up to %d", len(seen), top)
	}
	for id := int64(1); id <= top; id++ {
		if !seen[id] {
			t.Fatalf("id %d missing", id)
		}
	}
	if written.Load() == 0 {
		t.Fatal("the writers wrote nothing while paging; the test proves nothing")
	}
	if res := verify(t, db); !res.OK {
		t.Fatalf("%+v", res)
	}
}

func TestExportAuditEqualsPages(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	seedVaried(t, db, 80)
	ctx := context.Background()
	for _, f := range []models.AuditFilter{{}, {Department: "fleet"}, {Outcome: models.OutcomeFailure, CodePrefix: "credential"}, {Text: "note-2"}} {
		var paged []int64
		pf := f
		pf.Limit = 9
		for {
			page, err := db.SearchAudit(ctx, pf, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			paged = append(paged, ids(page)...)
			pf.Before = page[len(page)-1].ID
		}
		slices.Reverse(paged)
		var exported []int64
		// A cursor on the export is ignored: it covers the whole filtered set.
		ef := f
		ef.Before, ef.Limit = 5, 1
		n, err := db.ExportAudit(ctx, ef, nil, func(e *models.AuditEvent) error {
			exported = append(exported, e.ID)
			return nil
		})
		if err != nil || n != int64(len(exported)) {
			t.Fatal(err, n)
		}
		if len(paged) == 0 || !slices.Equal(paged, exported) {
			t.Fatalf("%+v: pages %v\nexport %v", f, paged, exported)
		}
	}
	// fn's error stops the stream and comes back.
	stop := errors.New("stop")
	n, err := db.ExportAudit(ctx, models.AuditFilter{}, nil, func(e *models.AuditEvent) error {
		if e.ID == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 2 {
		t.Fatalf("%v %d", err, n)
	}
}

// Hostile text in every filter is data, never SQL.
func TestSearchAuditInjectionIsInert(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	seedVaried(t, db, 10)
	ctx := context.Background()
	payloads := []string{
		`' OR '1'='1`, `'; DELETE FROM audit_events; --`, `1; DROP TABLE audit_head`, `%' OR 1=1 --`,
		`\'; SELECT pg_sleep(5); --`, `$1`, `") OR true --`, `%%%`,
	}
	for _, s := range payloads {
		for _, f := range []models.AuditFilter{{Actor: s}, {Department: s}, {CodePrefix: s}, {Outcome: models.Outcome(s)}, {Text: s}} {
			got, err := db.SearchAudit(ctx, f, []string{s})
			if err != nil {
				t.Fatalf("%+v: %v", f, err)
			}
			if len(got) != 0 {
				t.Fatalf("%+v matched %v", f, ids(got))
			}
			got, err = db.SearchAudit(ctx, f, nil)
			if err != nil || len(got) != 0 {
				t.Fatalf("%+v: %v %v", f, err, ids(got))
			}
		}
	}
	if res := verify(t, db); !res.OK || res.Events != 10 {
		t.Fatalf("the trail changed: %+v", res)
	}
}

func TestGetAuditEvent(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	seed := seedVaried(t, db, 3)
	e, err := db.GetAuditEvent(context.Background(), 2)
	if err != nil || e.ID != 2 || e.Target != seed[1].Target || e.Detail["n"] == nil || len(e.PrevHash) != 32 {
		t.Fatalf("%v %+v", err, e)
	}
	if _, err := db.GetAuditEvent(context.Background(), 99); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
}
