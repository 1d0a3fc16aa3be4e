package store_test

import (
	"context"
	"fmt"
	"strings"
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
		seqA, err = db.ReserveLogin(ctx, tx, a.Username, "A", time.Minute, false, nil)
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
		seqB, err = db.ReserveLogin(ctx, tx, a.Username, "B", time.Minute, false, nil)
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
		seqC, err = db.ReserveLogin(ctx, tx, a.Username, "C", time.Minute, false, nil)
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

// A claim's tally starts at the failures recorded since its mark, at most
// the failures since the last success: a forged mark, too large or
// negative, gives no more headroom than no mark, and never counts more
// than ThingSpace can have. The guard's judgement (ClaimStart) and the
// stored tally (ReserveLogin) agree.
func TestClaimTallyStartsAtTheMarkClamped(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	mark := func(n int64) *int64 { return &n }
	cases := []struct {
		name string
		mark *int64
		want int
	}{
		{"no mark", nil, 0},
		{"read now", mark(5), 0},
		{"read before two failures", mark(3), 2},
		{"read before the last success", mark(0), 3},
		{"forged negative", mark(-100), 3},
		{"forged larger", mark(1000), 0},
	}
	for i, c := range cases {
		user := fmt.Sprintf("Claim%d_UWS", i)
		// Two failures, a success, then three failures: 5 recorded in all,
		// 3 since the last success.
		for _, fail := range []bool{true, true, false, true, true, true} {
			err := db.WithTx(ctx, func(tx *store.Tx) error {
				a, err := db.LockAccount(ctx, tx, user)
				if err != nil {
					return err
				}
				seq, err := db.ReserveLogin(ctx, tx, a.Username, "L", time.Minute, false, nil)
				if err != nil {
					return err
				}
				if fail {
					_, err = db.RecordUpstreamFailure(ctx, tx, a.Username, seq, "L", "bad")
					return err
				}
				return db.RecordUpstreamSuccess(ctx, tx, a.Username, seq, "L")
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if m, err := db.FailuresMark(ctx, strings.ToLower(user)); err != nil || m != 5 {
			t.Fatalf("%s: mark %d %v, want 5", c.name, m, err)
		}
		err := db.WithTx(ctx, func(tx *store.Tx) error {
			a, err := db.LockAccount(ctx, tx, user)
			if err != nil {
				return err
			}
			if a.FailuresTotal != 5 || a.FailuresSinceSuccess != 3 || a.ClaimFailures != nil {
				t.Fatalf("%s: set-up %+v", c.name, a)
			}
			if got := a.ClaimStart(c.mark); got != c.want {
				t.Errorf("%s: the guard judges a start at %d, want %d", c.name, got, c.want)
			}
			_, err = db.ReserveLogin(ctx, tx, a.Username, "C", time.Minute, true, c.mark)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		readAccount(t, db, user, func(a store.Account) {
			if got := a.ClaimFailures; got == nil || *got != c.want {
				t.Errorf("%s: the tally starts at %+v, want %d", c.name, a, c.want)
			}
		})
	}
	if m, err := db.FailuresMark(ctx, "never_seen_uws"); err != nil || m != 0 {
		t.Fatalf("mark of an unknown account: %d %v, want 0", m, err)
	}
}

func readAccount(t *testing.T, db *store.DB, user string, fn func(a store.Account)) {
	t.Helper()
	err := db.WithTx(context.Background(), func(tx *store.Tx) error {
		a, err := db.LockAccount(context.Background(), tx, user)
		if err == nil {
			fn(a)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The lockout guard locks an account it knows in one round trip; a new one
// is made first, and locking it again finds the same row.
func TestLockingAKnownAccountIsOneRoundTrip(t *testing.T) {
	t.Parallel()
	db, rt := openTraced(t, testdb.URL(t))
	ctx := context.Background()
	lock := func() (store.Account, []string) {
		var a store.Account
		var sent []string
		err := db.WithTx(ctx, func(tx *store.Tx) error {
			var err error
			for _, s := range rt.Count(func() { a, err = db.LockAccount(ctx, tx, "Fleet_UWS") }) {
				if !strings.HasPrefix(s, "prepare: ") { // once per connection
					sent = append(sent, s)
				}
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return a, sent
	}
	if a, sent := lock(); a.Username != "fleet_uws" || len(sent) != 3 {
		t.Fatalf("a new account: %+v in %d round trips, want the look, the insert and the lock:\n%s", a, len(sent), strings.Join(sent, "\n"))
	}
	if a, sent := lock(); a.Username != "fleet_uws" || len(sent) != 1 {
		t.Fatalf("a known account: %+v in %d round trips, want 1:\n%s", a, len(sent), strings.Join(sent, "\n"))
	}
}
