package store_test

import (
	"bytes"
	"context"
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
// the assumed head is refused, nothing is written twice or lost, and the
// chain stays whole.
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
