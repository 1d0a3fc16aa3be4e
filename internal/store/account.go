package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uwsportal/uwsportal/models"
)

// Account is an upstream account's lockout state (docs/design.md, the
// lockout guard): one row per UWS username, whichever department, protocol
// or purpose logs in with it.
type Account struct {
	Username             string
	ConsecutiveFailures  int
	FailuresSinceSuccess int
	LeaseID              *string
	Leased               bool // a login attempt is in flight
	LeaseExpired         bool // an attempt's owner died before settling it
	LeaseSeq             int64
	AttemptSeq           int64
	LastFailureSeq       int64
	// ClaimFailures counts failed logins since the first claim that Verizon
	// reset the count after the last success (nil: no claim since).
	ClaimFailures *int
	// FailuresTotal counts every failed login ever recorded; it never
	// goes back. A claim's tally starts from a mark of it (ClaimStart).
	FailuresTotal int64
	// CredentialState and Department describe the credential that uses
	// the username ("" when none does yet: an administrator is entering it).
	CredentialState string
	Department      string
}

// ClaimStart is the value a claim's tally starts at when none runs yet:
// the failures recorded since mark (FailuresMark, read when the
// administrator opened the form, before calling Verizon), at most the
// failures since the last success; nil (no mark) starts it at 0. A forged
// mark, too large or negative, never gives more headroom than starting at
// 0 nor counts more than ThingSpace can have. ReserveLogin stores the
// same value.
func (a Account) ClaimStart(mark *int64) int {
	if mark == nil {
		return 0
	}
	return int(min(int64(a.FailuresSinceSuccess), max(0, a.FailuresTotal-*mark)))
}

// AccountKey is the account's key: usernames compare case-insensitively.
func AccountKey(username string) string { return strings.ToLower(strings.TrimSpace(username)) }

func (db *DB) ensureAccount(ctx context.Context, tx *Tx, username string) error {
	return db.q(ctx, tx).Exec(`INSERT INTO upstream_accounts (username) VALUES (?) ON CONFLICT (username) DO NOTHING`,
		AccountKey(username)).Error
}

// LockAccount reads username's account under a row lock held until tx
// ends, creating it if it is new. Every decision of the lockout guard is
// made under this lock.
func (db *DB) LockAccount(ctx context.Context, tx *Tx, username string) (Account, error) {
	a, found, err := db.lockAccount(ctx, tx, username)
	if err != nil || found {
		return a, err
	}
	// A new account: made (by this transaction or a concurrent one) before
	// it is read under its lock.
	if err := db.ensureAccount(ctx, tx, username); err != nil {
		return Account{}, fmt.Errorf("account %s: %w", models.ClipMark(username, 64), err)
	}
	if a, found, err = db.lockAccount(ctx, tx, username); err == nil && !found {
		err = fmt.Errorf("lock account %s: vanished", models.ClipMark(username, 64))
	}
	return a, err
}

// lockAccount is LockAccount of an account that exists (found false: it
// does not).
func (db *DB) lockAccount(ctx context.Context, tx *Tx, username string) (Account, bool, error) {
	var a Account
	err := db.row(tx)(ctx, `SELECT a.username, a.consecutive_failures, a.failures_since_success, a.lease_id,
	       (a.lease_until IS NOT NULL AND a.lease_until > now()), (a.lease_until IS NOT NULL AND a.lease_until <= now()),
	       a.lease_seq, a.attempt_seq, a.last_failure_seq, a.claim_failures, a.failures_total,
	       COALESCE(c.state, ''), COALESCE(d.slug, '')
	  FROM upstream_accounts a
	  LEFT JOIN credentials c ON lower(c.username) = a.username
	  LEFT JOIN departments d ON d.id = c.department_id
	 WHERE a.username = $1 FOR UPDATE OF a`, AccountKey(username)).Scan(
		&a.Username, &a.ConsecutiveFailures, &a.FailuresSinceSuccess, &a.LeaseID, &a.Leased, &a.LeaseExpired,
		&a.LeaseSeq, &a.AttemptSeq, &a.LastFailureSeq, &a.ClaimFailures, &a.FailuresTotal, &a.CredentialState, &a.Department)
	if errors.Is(err, sql.ErrNoRows) { // pgx.ErrNoRows is one too
		return Account{}, false, nil
	}
	if err != nil {
		return Account{}, false, fmt.Errorf("lock account %s: %w", models.ClipMark(username, 64), err)
	}
	return a, true, nil
}

// ReserveLogin gives the one login attempt of username to leaseID until
// the lease runs out (judged by the database clock, which every instance
// shares) and returns the attempt's number. Call it under LockAccount.
// claim starts the claim tally (Account.ClaimFailures) if none runs, at
// Account.ClaimStart(mark), so that the attempt counts in it even if its
// owner dies.
func (db *DB) ReserveLogin(ctx context.Context, tx *Tx, username, leaseID string, lease time.Duration, claim bool, mark *int64) (int64, error) {
	var seq int64
	// A nil mark is failures_total: a start at 0.
	err := db.q(ctx, tx).Raw(`UPDATE upstream_accounts SET lease_id = ?, lease_until = now() + make_interval(secs => ?),
	    attempt_seq = attempt_seq + 1, lease_seq = attempt_seq + 1, updated_at = now(),
	    claim_failures = CASE WHEN ? THEN coalesce(claim_failures,
	        least(failures_since_success, greatest(0, failures_total - coalesce(?::bigint, failures_total))))
	      ELSE claim_failures END
	  WHERE username = ? RETURNING attempt_seq`, leaseID, lease.Seconds(), claim, mark, AccountKey(username)).Scan(&seq).Error
	if err != nil {
		return 0, fmt.Errorf("reserve login of %s: %w", models.ClipMark(username, 64), err)
	}
	return seq, nil
}

// RecordUpstreamFailure counts a failed login (attempt seq) of username and
// ends the lease if it is still leaseID's. It returns the counts after.
func (db *DB) RecordUpstreamFailure(ctx context.Context, tx *Tx, username string, seq int64, leaseID, code string) (Account, error) {
	var rows []Account
	err := db.q(ctx, tx).Raw(`UPDATE upstream_accounts SET
	    consecutive_failures = consecutive_failures + 1, failures_since_success = failures_since_success + 1,
	    claim_failures = claim_failures + 1, failures_total = failures_total + 1,
	    last_failure_seq = greatest(last_failure_seq, ?), last_upstream_code = ?,
	    lease_id = CASE WHEN lease_id = ? THEN NULL ELSE lease_id END,
	    lease_until = CASE WHEN lease_id = ? THEN NULL ELSE lease_until END, updated_at = now()
	  WHERE username = ? RETURNING username, consecutive_failures, failures_since_success`,
		seq, models.Clip(code, 200), leaseID, leaseID, AccountKey(username)).Scan(&rows).Error
	if err == nil && len(rows) == 0 {
		err = fmt.Errorf("no account")
	}
	if err != nil {
		return Account{}, fmt.Errorf("record failed login of %s: %w", models.ClipMark(username, 64), err)
	}
	return rows[0], nil
}

// RecordUpstreamSuccess records a successful login (attempt seq): the
// counts go back to 0 unless a failure was recorded for a later attempt
// (a late success must not erase it). It ends leaseID's lease.
func (db *DB) RecordUpstreamSuccess(ctx context.Context, tx *Tx, username string, seq int64, leaseID string) error {
	_, err := db.exec(ctx, tx, "record successful login", `UPDATE upstream_accounts SET
	    consecutive_failures = CASE WHEN last_failure_seq < ? THEN 0 ELSE consecutive_failures END,
	    failures_since_success = CASE WHEN last_failure_seq < ? THEN 0 ELSE failures_since_success END,
	    claim_failures = CASE WHEN last_failure_seq < ? THEN NULL ELSE claim_failures END,
	    last_upstream_code = '',
	    lease_id = CASE WHEN lease_id = ? THEN NULL ELSE lease_id END,
	    lease_until = CASE WHEN lease_id = ? THEN NULL ELSE lease_until END, updated_at = now()
	  WHERE username = ?`, seq, seq, seq, leaseID, leaseID, AccountKey(username))
	return err
}

// ReleaseLogin ends leaseID's lease on username without counting: its
// attempt provably never reached the login service.
func (db *DB) ReleaseLogin(ctx context.Context, tx *Tx, username, leaseID string) error {
	_, err := db.exec(ctx, tx, "release login", `UPDATE upstream_accounts SET lease_id = NULL, lease_until = NULL, updated_at = now()
	  WHERE username = ? AND lease_id = ?`, AccountKey(username), leaseID)
	return err
}

// CountOrphanedLogin counts the attempt of lease leaseID as failed (its
// owner died mid-login; it may have counted upstream) and ends the lease.
func (db *DB) CountOrphanedLogin(ctx context.Context, tx *Tx, username, leaseID string) (Account, error) {
	var rows []Account
	err := db.q(ctx, tx).Raw(`UPDATE upstream_accounts SET
	    consecutive_failures = consecutive_failures + 1, failures_since_success = failures_since_success + 1,
	    claim_failures = claim_failures + 1, failures_total = failures_total + 1,
	    last_failure_seq = greatest(last_failure_seq, lease_seq), last_upstream_code = 'orphaned-login',
	    lease_id = NULL, lease_until = NULL, updated_at = now()
	  WHERE username = ? AND lease_id = ? RETURNING username, consecutive_failures, failures_since_success, claim_failures, failures_total`,
		AccountKey(username), leaseID).Scan(&rows).Error
	if err != nil {
		return Account{}, fmt.Errorf("count orphaned login of %s: %w", models.ClipMark(username, 64), err)
	}
	if len(rows) == 0 {
		return Account{}, fmt.Errorf("count orphaned login of %s: no such lease", models.ClipMark(username, 64))
	}
	return rows[0], nil
}

// FailuresMark is username's count of failed logins recorded so far
// (Account.FailuresTotal; 0 for an account the portal has not seen). An
// administrator about to state that Verizon reset the count reads it when
// opening the form; the statement then covers the failures recorded from
// that moment on (ReserveLogin).
func (db *DB) FailuresMark(ctx context.Context, username string) (int64, error) {
	var marks []int64
	err := db.q(ctx, nil).Raw(`SELECT failures_total FROM upstream_accounts WHERE username = ?`, AccountKey(username)).Scan(&marks).Error
	if err != nil {
		return 0, fmt.Errorf("failures mark of %s: %w", models.ClipMark(username, 64), err)
	}
	if len(marks) == 0 {
		return 0, nil
	}
	return marks[0], nil
}

// ClearAccountFailures sets username's quarantine count back to 0 (an
// administrator fixed the cause). The count since the last successful
// login is ThingSpace's: only a successful login zeroes it.
func (db *DB) ClearAccountFailures(ctx context.Context, tx *Tx, username string) error {
	if err := db.ensureAccount(ctx, tx, username); err != nil {
		return err
	}
	_, err := db.exec(ctx, tx, "clear account failures", `UPDATE upstream_accounts SET consecutive_failures = 0, updated_at = now()
	  WHERE username = ?`, AccountKey(username))
	return err
}
