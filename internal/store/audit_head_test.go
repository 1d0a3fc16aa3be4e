package store_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// openTraced opens a second handle on url that counts its round trips.
func openTraced(t *testing.T, url string) (*store.DB, *store.RoundTrips) {
	t.Helper()
	rt := &store.RoundTrips{}
	db, err := store.Open(context.Background(), url, store.Options{MaxConns: 4, RoundTrips: rt})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db, rt
}

// An appender that wrote the chain's head last appends the next event in
// one round trip: the head's trigger checks the head it assumed.
func TestWarmAppenderAppendsInOneRoundTrip(t *testing.T) {
	t.Parallel()
	db, rt := openTraced(t, testdb.URL(t))
	appendN(t, db, 2) // the first append learns the head
	var err error
	sent := rt.Count(func() { err = db.AuditAlone(context.Background(), event(3)) })
	if err != nil {
		t.Fatal(err)
	}
	if len(sent) != 1 {
		t.Fatalf("a warm append sent %d round trips, want 1: %s", len(sent), strings.Join(sent, " | "))
	}
	if res := verify(t, db); !res.OK || res.Events != 3 {
		t.Fatalf("%+v", res)
	}
}

// Two instances appending in turn each find the head moved by the other:
// the append on the assumed head appends nothing, nothing is written twice
// or lost, and the chain stays whole.
func TestInstancesAppendingInTurnKeepTheChain(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	a, _ := openTraced(t, url)
	b, _ := openTraced(t, url)
	for i := range 20 {
		db := a
		if i%3 == 1 {
			db = b
		}
		if err := db.AuditAlone(context.Background(), event(i)); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	if res := verify(t, a); !res.OK || res.Events != 20 {
		t.Fatalf("%+v", res)
	}
}

// An append inside another transaction of the same process moves the head
// under the group commit's loop: the loop knows and reads the head under
// its lock instead of sending a round trip the trigger would refuse.
func TestAppendInATransactionIsNotAssumedPast(t *testing.T) {
	t.Parallel()
	db, rt := openTraced(t, testdb.URL(t))
	ctx := context.Background()
	appendN(t, db, 2)
	if err := db.WithTx(ctx, func(tx *store.Tx) error { return db.Audit(ctx, tx, event(3)) }); err != nil {
		t.Fatal(err)
	}
	var err error
	sent := rt.Count(func() { err = db.AuditAlone(ctx, event(4)) })
	if err != nil {
		t.Fatal(err)
	}
	if joined := strings.Join(sent, " | "); len(sent) != 2 || strings.Contains(joined, "ROLLBACK") {
		t.Fatalf("after a transaction's append the loop sent %d round trips, want the head's lock and the append: %s", len(sent), joined)
	}
	if res := verify(t, db); !res.OK || res.Events != 4 {
		t.Fatalf("%+v", res)
	}
}

// An append inside a transaction is one round trip: advancing the head
// takes its lock, and Postgres links the event as models.ChainHash does.
// Transactions appending at once, with the group commit's loop beside
// them, keep one gapless chain.
func TestAppendInATransactionIsOneRoundTrip(t *testing.T) {
	t.Parallel()
	db, rt := openTraced(t, testdb.URL(t))
	ctx := context.Background()
	appendN(t, db, 2)
	e := event(2)
	var sent []string
	err := db.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		for _, s := range rt.Count(func() { err = db.Audit(ctx, tx, e) }) {
			if !strings.HasPrefix(s, "prepare: ") { // once per connection
				sent = append(sent, s)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(sent) != 1 {
		t.Fatalf("an append in a transaction sent %d round trips, want 1:\n%s", len(sent), strings.Join(sent, "\n"))
	}
	prev, err := db.GetAuditEvent(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if e.ID != 3 || !bytes.Equal(e.PrevHash, prev.Hash) || !bytes.Equal(e.Hash, models.ChainHash(prev.Hash, 3, e.Canonical())) {
		t.Fatalf("event %d linked after %x as %x", e.ID, e.PrevHash, e.Hash)
	}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			for i := range 10 {
				var err error
				if w%3 == 0 {
					err = db.AuditAlone(ctx, event(w*100+i))
				} else {
					err = db.WithTx(ctx, func(tx *store.Tx) error { return db.Audit(ctx, tx, event(w*100+i)) })
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if res := verify(t, db); !res.OK || res.Events != 63 {
		t.Fatalf("%+v", res)
	}
}

// A head another instance moved is no error: the batch that assumed it
// appends nothing and commits (no statement fails, so Postgres logs no
// ERROR and nothing is rolled back), then the loop locks and reads the
// head and appends after it. A notification rides with its event only.
func TestAHeadMovedByAnotherInstanceIsNoError(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	a, rt := openTraced(t, url)
	b, _ := openTraced(t, url)
	ctx := context.Background()
	appendN(t, a, 2) // a knows the head
	if err := b.AuditAlone(ctx, event(2)); err != nil {
		t.Fatal(err)
	}
	breakGlass := func(i int) *models.AuditEvent {
		e := models.NewEvent(models.EvBreakGlassSucceeded, &models.Principal{Actor: "cli:test"}, models.RequestMeta{SourceIP: "10.0.0.9", RequestID: fmt.Sprint("bg", i)})
		return e.With("username", "admin")
	}
	var sent []string
	var errs [3]error
	var wg sync.WaitGroup
	sent = rt.Count(func() {
		for i := range errs { // one batch, most of the time: the loop takes what waits
			wg.Go(func() { errs[i] = a.AuditAlone(ctx, breakGlass(i)) })
		}
		wg.Wait()
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	joined := strings.Join(sent, " | ")
	if strings.Contains(joined, "ROLLBACK") || !strings.Contains(joined, "FOR UPDATE") {
		t.Fatalf("on a moved head the loop sent: %s", joined)
	}
	if res := verify(t, a); !res.OK || res.Events != 6 {
		t.Fatalf("%+v", res)
	}
	var keys []string
	if err := a.Pool.QueryRow(ctx, `SELECT coalesce(array_agg(dedupe_key ORDER BY dedupe_key), '{}') FROM notify_outbox`).Scan(&keys); err != nil {
		t.Fatal(err)
	}
	if want := []string{"audit:4", "audit:5", "audit:6"}; !slices.Equal(keys, want) {
		t.Fatalf("outbox %v, want one notification per appended event, %v", keys, want)
	}
}

// A batch appended on an assumed head is all or nothing: the statement
// before its COMMIT fails when the head stands at one of the batch's
// hashes but the last, and only then.
func TestACutBatchIsRefused(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	appendN(t, db, 2)
	head, err := db.GetAuditEvent(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	other := models.ChainHash(head.Hash, 3, []byte("not appended"))
	if _, err := db.Pool.Exec(ctx, store.RefuseCutBatchForTest, [][]byte{other}); err != nil {
		t.Fatalf("a batch appended whole (or not at all) was refused: %v", err)
	}
	_, err = db.Pool.Exec(ctx, store.RefuseCutBatchForTest, [][]byte{other, head.Hash})
	if err == nil || !strings.Contains(err.Error(), "audit head may only advance") {
		t.Fatalf("a batch cut after the head's event was not refused: %v", err)
	}
	if res := verify(t, db); !res.OK || res.Events != 2 {
		t.Fatalf("%+v", res)
	}
}
