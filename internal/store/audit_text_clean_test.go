package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
)

// Once an instance has appended store.CleanEvery events, the free-text
// index's pending list is merged in the background, so no append has to
// merge a full list itself: after the merge, nothing those appends left
// is pending.
func TestTheTextIndexPendingListIsMergedInTheBackground(t *testing.T) {
	t.Parallel()
	db, _ := openTraced(t, testdb.URL(t))
	appendN(t, db, store.CleanEvery)
	deadline := time.Now().Add(5 * time.Second)
	for db.TextIndexMerges() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no merge after %d appends", store.CleanEvery)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var pages int64
	if err := db.Pool.QueryRow(context.Background(), "SELECT gin_clean_pending_list('audit_events_text_idx'::regclass)").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if pages != 0 {
		t.Fatalf("%d pages still pending after the background merge", pages)
	}
}
