package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
)

// Gateway token kinds.
const (
	TokenBearer  = "bearer"
	TokenSession = "session"
)

// PutGatewayToken stores the hash of a bearer token or session handle
// that lives until expires and, whatever its slides, never past notAfter
// (nil: no such end). Expired rows of the client go at the same time.
func (db *DB) PutGatewayToken(ctx context.Context, hash []byte, clientID, kind string, expires time.Time, notAfter *time.Time, now time.Time) error {
	if notAfter != nil && notAfter.Before(expires) {
		expires = *notAfter
	}
	// One statement: pgx sends bytea as bytes (GORM would expand a slice).
	_, err := db.Pool.Exec(ctx, `WITH gone AS (DELETE FROM gateway_tokens WHERE client_id = $2 AND expires_at <= $5)
	    INSERT INTO gateway_tokens (hash, client_id, kind, expires_at, not_after) VALUES ($1, $2, $3, $4, $6)`,
		hash, clientID, kind, expires, now, notAfter)
	if err != nil {
		return fmt.Errorf("store gateway token: %w", err)
	}
	return nil
}

// GatewayToken returns the client of a live token of kind ("" if none)
// and the token's hard end (nil: none). A session handle's idle expiry
// moves to now+idle, never past its end (idle 0: unchanged).
func (db *DB) GatewayToken(ctx context.Context, hash []byte, kind string, now time.Time, idle time.Duration) (string, *time.Time, error) {
	var id string
	var notAfter *time.Time
	var err error
	if idle > 0 {
		err = db.lazyRow(ctx, `UPDATE gateway_tokens SET expires_at = `+slideTo("$1")+` WHERE hash = $2 AND kind = $3 AND expires_at > $4
		       RETURNING client_id, not_after`, now.Add(idle), hash, kind, now).Scan(&id, &notAfter)
	} else {
		err = db.Pool.QueryRow(ctx, "SELECT client_id, not_after FROM gateway_tokens WHERE hash = $1 AND kind = $2 AND expires_at > $3",
			hash, kind, now).Scan(&id, &notAfter)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("read gateway token: %w", err)
	}
	return id, notAfter, nil
}

// slideTo is a session handle's new expiry: to, but never past its hard
// end (the end of the secret it was opened with).
func slideTo(to string) string {
	return `LEAST(` + to + `::timestamptz, COALESCE(not_after, 'infinity'))`
}

// DeleteGatewayToken forgets a token of clientID (a logout).
func (db *DB) DeleteGatewayToken(ctx context.Context, hash []byte, clientID string) error {
	if _, err := db.Pool.Exec(ctx, "DELETE FROM gateway_tokens WHERE hash = $1 AND client_id = $2", hash, clientID); err != nil {
		return fmt.Errorf("delete gateway token: %w", err)
	}
	return nil
}

// Idempotent is the first answer kept for an Idempotency-Key.
type Idempotent struct {
	BodyHash []byte
	Status   int // 0: the first request is still in flight
	Body     []byte
}

// claimIdempotency claims a key in one statement: a new key is inserted,
// one older than the keep ($5) is replaced as if new, a live one is left
// and read (from the statement's snapshot).
const claimIdempotency = `WITH claim AS (
    INSERT INTO gateway_idempotency AS g (client_id, key, body_hash, created_at) VALUES ($1, $2, $3, $4)
    ON CONFLICT (client_id, key) DO UPDATE SET body_hash = excluded.body_hash, status = NULL, body = NULL, created_at = excluded.created_at
     WHERE g.created_at <= $5
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM claim), g.body_hash, g.status, g.body
  FROM (SELECT 1) one LEFT JOIN gateway_idempotency g ON g.client_id = $1 AND g.key = $2 AND g.created_at > $5`

// ClaimIdempotency claims clientID's key for a request whose body hashes
// to bodyHash. claimed is true when this request is the first (within
// keep); otherwise prior is what the first left. One round trip, and one
// more only when the first request's row was committed while this one's
// statement ran.
func (db *DB) ClaimIdempotency(ctx context.Context, clientID, key string, bodyHash []byte, now time.Time, keep time.Duration) (prior Idempotent, claimed bool, err error) {
	var status *int
	cut := now.Add(-keep)
	err = db.Pool.QueryRow(ctx, claimIdempotency, clientID, key, bodyHash, now, cut).Scan(&claimed, &prior.BodyHash, &status, &prior.Body)
	if err == nil && !claimed && prior.BodyHash == nil {
		err = db.Pool.QueryRow(ctx, "SELECT body_hash, status, body FROM gateway_idempotency WHERE client_id = $1 AND key = $2",
			clientID, key).Scan(&prior.BodyHash, &status, &prior.Body)
	}
	if err != nil {
		return Idempotent{}, false, fmt.Errorf("claim idempotency key: %w", err)
	}
	if claimed {
		return Idempotent{}, true, nil
	}
	if status != nil {
		prior.Status = *status
	}
	return prior, false, nil
}

// FinishIdempotency keeps the answer to a claimed key.
func (db *DB) FinishIdempotency(ctx context.Context, clientID, key string, status int, body []byte) error {
	if _, err := db.Pool.Exec(ctx, "UPDATE gateway_idempotency SET status = $1, body = $2 WHERE client_id = $3 AND key = $4",
		status, body, clientID, key); err != nil {
		return fmt.Errorf("keep idempotent answer: %w", err)
	}
	return nil
}

// ReleaseIdempotency gives a claimed key back (nothing was sent upstream).
func (db *DB) ReleaseIdempotency(ctx context.Context, clientID, key string) error {
	if _, err := db.Pool.Exec(ctx, "DELETE FROM gateway_idempotency WHERE client_id = $1 AND key = $2 AND status IS NULL",
		clientID, key); err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}

// TakeGatewayToken takes one token from clientID's bucket (burst tokens,
// refilled at rate per second), shared by every instance. When the bucket
// is empty it returns false and how long until a token is there.
func (db *DB) TakeGatewayToken(ctx context.Context, clientID string, burst, rate float64, now time.Time) (bool, time.Duration, error) {
	var left float64
	err := db.lazyRow(ctx, takeToken+` VALUES ($1, $2::float8 - 1, $3)`+takeTokenConflict("$2", "$4"), clientID, burst, now, rate).Scan(&left)
	if err == nil {
		return true, 0, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return false, 0, fmt.Errorf("rate limit: %w", err)
	}
	wait, err := db.BucketWait(ctx, clientID, rate, now)
	return false, wait, err
}

// takeToken, then the rows to insert, then takeTokenConflict take one
// token from a client's bucket of the given burst, refilled at rate (both
// parameter placeholders), returning a row only when there was one.
const takeToken = `INSERT INTO gateway_buckets AS bk (client_id, tokens, updated_at)`

func takeTokenConflict(burst, rate string) string {
	refilled := `LEAST(` + burst + `::float8, bk.tokens + GREATEST(0, EXTRACT(EPOCH FROM (excluded.updated_at - bk.updated_at))) * ` + rate + `::float8)`
	return `
	   ON CONFLICT (client_id) DO UPDATE SET tokens = ` + refilled + ` - 1, updated_at = GREATEST(bk.updated_at, excluded.updated_at)
	   WHERE ` + refilled + ` >= 1
	   RETURNING tokens`
}

// BucketWait says how long until clientID's bucket holds a token.
func (db *DB) BucketWait(ctx context.Context, clientID string, rate float64, now time.Time) (time.Duration, error) {
	var tokens float64
	var at time.Time
	if err := db.Pool.QueryRow(ctx, "SELECT tokens, updated_at FROM gateway_buckets WHERE client_id = $1", clientID).Scan(&tokens, &at); err != nil {
		return 0, fmt.Errorf("rate limit: %w", err)
	}
	wait := time.Second
	if rate > 0 {
		need := 1 - (tokens + math.Max(0, now.Sub(at).Seconds())*rate)
		wait = max(time.Duration(math.Ceil(need/rate*1000))*time.Millisecond, time.Millisecond)
	}
	return wait, nil
}

// ExpireGateway deletes expired tokens and idempotency keys older than keep.
func (db *DB) ExpireGateway(ctx context.Context, now time.Time, keep time.Duration) error {
	if _, err := db.Pool.Exec(ctx, "DELETE FROM gateway_tokens WHERE expires_at <= $1", now); err != nil {
		return fmt.Errorf("expire gateway tokens: %w", err)
	}
	if _, err := db.Pool.Exec(ctx, "DELETE FROM gateway_idempotency WHERE created_at <= $1", now.Add(-keep)); err != nil {
		return fmt.Errorf("expire idempotency keys: %w", err)
	}
	return nil
}

// lazyRow runs one write whose loss in a crash harms nothing (a session
// handle's sliding expiry, a rate-limit token) without waiting for its WAL
// flush: one round trip, the statement and synchronous_commit=off for its
// own implicit transaction pipelined together.
func (db *DB) lazyRow(ctx context.Context, sql string, args ...any) pgx.Row {
	b := &pgx.Batch{}
	b.Queue(`SELECT set_config('synchronous_commit', 'off', true)`)
	b.Queue(sql, args...)
	res := db.Pool.SendBatch(ctx, b)
	if _, err := res.Exec(); err != nil {
		_ = res.Close()
		return errRow{err}
	}
	return closingRow{res.QueryRow(), res}
}

// closingRow closes its batch once scanned.
type closingRow struct {
	pgx.Row
	res pgx.BatchResults
}

func (r closingRow) Scan(dest ...any) error {
	err := r.Row.Scan(dest...)
	if cerr := r.res.Close(); err == nil {
		err = cerr
	}
	return err
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
