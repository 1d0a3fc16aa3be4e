package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ThrottleRule limits attempts counted in one bucket: Free attempts within
// Window cost nothing, then each one closes the bucket for Base, doubling
// up to Max. A bucket quiet for Window starts again from zero.
type ThrottleRule struct {
	Bucket string
	Free   int
	Base   time.Duration
	Max    time.Duration
	Window time.Duration
}

// delay is how long the bucket stays closed after its n-th attempt.
func (r ThrottleRule) delay(n int) time.Duration {
	if n < r.Free {
		return 0
	}
	d := r.Base
	for i := r.Free; i < n && d < r.Max; i++ {
		d *= 2
	}
	return min(d, r.Max)
}

// ErrThrottled is returned by ReserveAttempt when a bucket is closed.
type ErrThrottled struct{ Wait time.Duration }

func (e *ErrThrottled) Error() string { return fmt.Sprintf("throttled for %s", e.Wait) }

// ReserveAttempt reserves one attempt in every rule's bucket, or in none:
// each bucket's row is locked, checked and advanced in one transaction, so
// parallel attempts queue on the lock instead of all passing one read.
// The attempt counts as a failure until CompleteAttempt says otherwise.
// A closed bucket gives an *ErrThrottled with the longest wait.
func (db *DB) ReserveAttempt(ctx context.Context, now time.Time, rules ...ThrottleRule) error {
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	var wait time.Duration
	for _, r := range rules {
		w, err := reserveOne(ctx, tx, now, r)
		if err != nil {
			return fmt.Errorf("throttle %s: %w", r.Bucket, err)
		}
		wait = max(wait, w)
	}
	if wait > 0 {
		return &ErrThrottled{Wait: wait} // rolled back: no bucket is charged
	}
	return tx.Commit(ctx)
}

func reserveOne(ctx context.Context, tx pgx.Tx, now time.Time, r ThrottleRule) (time.Duration, error) {
	if _, err := tx.Exec(ctx, `INSERT INTO login_throttle (bucket, attempts, blocked_until, updated_at)
		VALUES ($1, 0, $2, $2) ON CONFLICT (bucket) DO NOTHING`, r.Bucket, now); err != nil {
		return 0, err
	}
	var attempts int
	var blocked, updated time.Time
	err := tx.QueryRow(ctx, `SELECT attempts, blocked_until, updated_at FROM login_throttle WHERE bucket = $1 FOR UPDATE`, r.Bucket).
		Scan(&attempts, &blocked, &updated)
	if err != nil {
		return 0, err
	}
	if blocked.After(now) {
		return blocked.Sub(now), nil
	}
	if now.Sub(updated) > r.Window {
		attempts = 0
	}
	attempts++
	_, err = tx.Exec(ctx, `UPDATE login_throttle SET attempts = $2, blocked_until = $3, updated_at = $4 WHERE bucket = $1`,
		r.Bucket, attempts, now.Add(r.delay(attempts)), now)
	return 0, err
}

// CompleteAttempt settles a reserved attempt that succeeded: the buckets in
// forget start again from zero, and the buckets in refund get the attempt
// back (a shared address is not charged for a success).
func (db *DB) CompleteAttempt(ctx context.Context, tx *Tx, forget, refund []string) error {
	var errs []error
	for _, b := range forget {
		errs = append(errs, db.q(ctx, tx).Exec("DELETE FROM login_throttle WHERE bucket = ?", b).Error)
	}
	for _, b := range refund {
		errs = append(errs, db.q(ctx, tx).Exec("UPDATE login_throttle SET attempts = greatest(attempts - 1, 0) WHERE bucket = ?", b).Error)
	}
	return errors.Join(errs...)
}
