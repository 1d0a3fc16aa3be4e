package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
)

func lockAccount(t *testing.T, db *store.DB, fn func(tx *store.Tx, a store.Account) error) {
	t.Helper()
	err := db.WithTx(context.Background(), func(tx *store.Tx) error {
		a, err := db.LockAccount(context.Background(), tx, "Fleet_UWS")
		if err != nil {
			return err
		}
		return fn(tx, a)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Issue 13, path 6: a lease is released and recorded only by its owner,
// and a late success does not erase a failure recorded after it began.
func TestLeasesAreOwnedAndLateSuccessKeepsLaterFailures(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	var seqA int64
	lockAccount(t, db, func(tx *store.Tx, a store.Account) error {
		if a.Username != "fleet_uws" || a.Leased {
			t.Fatalf("new account %+v", a)
		}
		var err error
		seqA, err = db.ReserveLogin(ctx, tx, a.Username, "A", time.Minute, false)
		return err
	})
	// Another's release does not end A's lease.
	lockAccount(t, db, func(tx *store.Tx, a store.Account) error { return db.ReleaseLogin(ctx, tx, a.Username, "B") })
	lockAccount(t, db, func(tx *store.Tx, a store.Account) error {
		if !a.Leased || a.LeaseID == nil || *a.LeaseID != "A" {
			t.Fatalf("A's lease was released by another: %+v", a)
		}
		return nil
	})
	// A's process stalls past its lease; B counts it, reserves and fails.
	if _, err := db.Pool.Exec(ctx, "UPDATE upstream_accounts SET lease_until = now() - interval '1 second'"); err != nil {
		t.Fatal(err)
	}
	var seqB int64
	lockAccount(t, db, func(tx *store.Tx, a store.Account) error {
		if !a.LeaseExpired {
			t.Fatalf("expired lease not seen: %+v", a)
		}
		if _, err := db.CountOrphanedLogin(ctx, tx, a.Username, "A"); err != nil {
			return err
		}
		var err error
		seqB, err = db.ReserveLogin(ctx, tx, a.Username, "B", time.Minute, false)
		return err
	})
	lockAccount(t, db, func(tx *store.Tx, a store.Account) error {
		_, err := db.RecordUpstreamFailure(ctx, tx, a.Username, seqB, "B", "InvalidCredentials")
		return err
	})
	// A's success arrives late: B's later failure stands.
	lockAccount(t, db, func(tx *store.Tx, a store.Account) error {
		return db.RecordUpstreamSuccess(ctx, tx, a.Username, seqA, "A")
	})
	lockAccount(t, db, func(tx *store.Tx, a store.Account) error {
		if a.ConsecutiveFailures != 2 || a.FailuresSinceSuccess != 2 || a.Leased {
			t.Fatalf("after a late success: %+v", a)
		}
		return nil
	})
	// A success that began after every failure resets the count.
	var seqC int64
	lockAccount(t, db, func(tx *store.Tx, a store.Account) error {
		var err error
		seqC, err = db.ReserveLogin(ctx, tx, a.Username, "C", time.Minute, false)
		return err
	})
	lockAccount(t, db, func(tx *store.Tx, a store.Account) error {
		return db.RecordUpstreamSuccess(ctx, tx, a.Username, seqC, "C")
	})
	lockAccount(t, db, func(tx *store.Tx, a store.Account) error {
		if a.ConsecutiveFailures != 0 || a.FailuresSinceSuccess != 0 || a.Leased {
			t.Fatalf("after a success: %+v", a)
		}
		return nil
	})
}
