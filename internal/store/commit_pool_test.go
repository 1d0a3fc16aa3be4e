package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/testdb"
)

// The audit's group commit has connections of its own: with every one of
// the request pool's connections taken (a burst of requests), an event is
// still appended at once instead of waiting for a request to finish, so
// one slow request cannot hold up every caller's durable audit.
func TestTheGroupCommitDoesNotWaitForTheRequestPool(t *testing.T) {
	t.Parallel()
	db, _ := openTraced(t, testdb.URL(t)) // a pool of 4
	appendN(t, db, 1)
	for range 4 {
		c, err := db.Pool.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Release()
	}
	done := make(chan error, 1)
	go func() { done <- db.AuditAlone(context.Background(), event(2)) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("append with the request pool taken: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the append waited for a connection of the request pool")
	}
}
