package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/internal/testutil"
	"github.com/uwsportal/uwsportal/models"
)

// A flush that found no window remembers when one could end at the
// earliest and reads nothing before then; a window opened after that look
// (here by another instance) is still summarised once it has ended.
func TestAWindowOpenedAfterALookIsFlushedWhenItEnds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := testutil.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	url := testdb.URL(t)
	open := func() *store.DB {
		db, err := store.Open(ctx, url, store.Options{MaxConns: 4, Now: c.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		return db
	}
	a, b := open(), open()
	if err := a.FlushAuditWindows(ctx, c.Now()); err != nil { // nothing there: a remembers
		t.Fatal(err)
	}
	c.Advance(time.Minute)
	for range 3 {
		e := models.NewEvent(models.EvSignInFailed, nil, models.RequestMeta{SourceIP: "203.0.113.9"}).With("reason", "test")
		e.Actor, e.Outcome = "anonymous", models.OutcomeFailure
		if err := b.AuditAggregated(ctx, e, "203.0.113.9"); err != nil {
			t.Fatal(err)
		}
	}
	summaries := func() int {
		var n int
		if err := a.Pool.QueryRow(ctx, "SELECT count(*) FROM audit_events WHERE code = $1", models.EvFailuresSummarized).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	c.Advance(store.AuditWindow - time.Second) // not ended yet
	if err := a.FlushAuditWindows(ctx, c.Now()); err != nil || summaries() != 0 {
		t.Fatalf("a window was summarised before it ended: %v, %d", err, summaries())
	}
	c.Advance(time.Second)
	if err := a.FlushAuditWindows(ctx, c.Now()); err != nil {
		t.Fatal(err)
	}
	if n := summaries(); n != 1 {
		t.Fatalf("%d summaries of a window that has ended, want 1", n)
	}
}
