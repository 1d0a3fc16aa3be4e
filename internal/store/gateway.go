package store

import (
	"context"
	"fmt"
	"math"
	"time"
)

// Gateway token kinds.
const (
	TokenBearer  = "bearer"
	TokenSession = "session"
)

// PutGatewayToken stores the hash of a bearer token or session handle.
// Expired rows of the client go at the same time.
func (db *DB) PutGatewayToken(ctx context.Context, hash []byte, clientID, kind string, expires, now time.Time) error {
	return db.WithTx(ctx, func(tx *Tx) error {
		if err := db.q(ctx, tx).Exec("DELETE FROM gateway_tokens WHERE client_id = ? AND expires_at <= ?", clientID, now).Error; err != nil {
			return fmt.Errorf("expire gateway tokens: %w", err)
		}
		if err := db.q(ctx, tx).Exec("INSERT INTO gateway_tokens (hash, client_id, kind, expires_at) VALUES (?, ?, ?, ?)",
			hash, clientID, kind, expires).Error; err != nil {
			return fmt.Errorf("store gateway token: %w", err)
		}
		return nil
	})
}

// GatewayToken returns the client of a live token of kind ("" if none).
// A session handle's idle expiry moves to now+idle (idle 0: unchanged).
func (db *DB) GatewayToken(ctx context.Context, hash []byte, kind string, now time.Time, idle time.Duration) (string, error) {
	var ids []string
	var err error
	if idle > 0 {
		err = db.q(ctx, nil).Raw(`UPDATE gateway_tokens SET expires_at = ? WHERE hash = ? AND kind = ? AND expires_at > ?
		       RETURNING client_id`, now.Add(idle), hash, kind, now).Scan(&ids).Error
	} else {
		err = db.q(ctx, nil).Raw("SELECT client_id FROM gateway_tokens WHERE hash = ? AND kind = ? AND expires_at > ?",
			hash, kind, now).Scan(&ids).Error
	}
	if err != nil {
		return "", fmt.Errorf("read gateway token: %w", err)
	}
	if len(ids) == 0 {
		return "", nil
	}
	return ids[0], nil
}

// DeleteGatewayToken forgets a token of clientID (a logout).
func (db *DB) DeleteGatewayToken(ctx context.Context, hash []byte, clientID string) error {
	if err := db.q(ctx, nil).Exec("DELETE FROM gateway_tokens WHERE hash = ? AND client_id = ?", hash, clientID).Error; err != nil {
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

// ClaimIdempotency claims clientID's key for a request whose body hashes
// to bodyHash. claimed is true when this request is the first (within
// keep); otherwise prior is what the first left.
func (db *DB) ClaimIdempotency(ctx context.Context, clientID, key string, bodyHash []byte, now time.Time, keep time.Duration) (prior Idempotent, claimed bool, err error) {
	err = db.WithTx(ctx, func(tx *Tx) error {
		if err := db.q(ctx, tx).Exec("DELETE FROM gateway_idempotency WHERE client_id = ? AND key = ? AND created_at <= ?",
			clientID, key, now.Add(-keep)).Error; err != nil {
			return err
		}
		res := db.q(ctx, tx).Exec(`INSERT INTO gateway_idempotency (client_id, key, body_hash, created_at) VALUES (?, ?, ?, ?)
		       ON CONFLICT (client_id, key) DO NOTHING`, clientID, key, bodyHash, now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 1 {
			claimed = true
			return nil
		}
		var rows []struct {
			BodyHash []byte
			Status   *int
			Body     []byte
		}
		if err := db.q(ctx, tx).Raw("SELECT body_hash, status, body FROM gateway_idempotency WHERE client_id = ? AND key = ?",
			clientID, key).Scan(&rows).Error; err != nil {
			return err
		}
		if len(rows) == 0 {
			return fmt.Errorf("idempotency key vanished")
		}
		prior = Idempotent{BodyHash: rows[0].BodyHash, Body: rows[0].Body}
		if rows[0].Status != nil {
			prior.Status = *rows[0].Status
		}
		return nil
	})
	if err != nil {
		return Idempotent{}, false, fmt.Errorf("claim idempotency key: %w", err)
	}
	return prior, claimed, nil
}

// FinishIdempotency keeps the answer to a claimed key.
func (db *DB) FinishIdempotency(ctx context.Context, clientID, key string, status int, body []byte) error {
	if err := db.q(ctx, nil).Exec("UPDATE gateway_idempotency SET status = ?, body = ? WHERE client_id = ? AND key = ?",
		status, body, clientID, key).Error; err != nil {
		return fmt.Errorf("keep idempotent answer: %w", err)
	}
	return nil
}

// ReleaseIdempotency gives a claimed key back (nothing was sent upstream).
func (db *DB) ReleaseIdempotency(ctx context.Context, clientID, key string) error {
	if err := db.q(ctx, nil).Exec("DELETE FROM gateway_idempotency WHERE client_id = ? AND key = ? AND status IS NULL",
		clientID, key).Error; err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}

// TakeGatewayToken takes one token from clientID's bucket (burst tokens,
// refilled at rate per second), shared by every instance. When the bucket
// is empty it returns false and how long until a token is there.
func (db *DB) TakeGatewayToken(ctx context.Context, clientID string, burst, rate float64, now time.Time) (bool, time.Duration, error) {
	var left []float64
	err := db.q(ctx, nil).Raw(`INSERT INTO gateway_buckets AS b (client_id, tokens, updated_at) VALUES (?, ? - 1, ?)
	   ON CONFLICT (client_id) DO UPDATE SET
	       tokens = LEAST(?::float8, b.tokens + GREATEST(0, EXTRACT(EPOCH FROM (excluded.updated_at - b.updated_at))) * ?::float8) - 1,
	       updated_at = GREATEST(b.updated_at, excluded.updated_at)
	   WHERE LEAST(?::float8, b.tokens + GREATEST(0, EXTRACT(EPOCH FROM (excluded.updated_at - b.updated_at))) * ?::float8) >= 1
	   RETURNING tokens`, clientID, burst, now, burst, rate, burst, rate).Scan(&left).Error
	if err != nil {
		return false, 0, fmt.Errorf("rate limit: %w", err)
	}
	if len(left) == 1 {
		return true, 0, nil
	}
	var have []struct {
		Tokens    float64
		UpdatedAt time.Time
	}
	if err := db.q(ctx, nil).Raw("SELECT tokens, updated_at FROM gateway_buckets WHERE client_id = ?", clientID).Scan(&have).Error; err != nil {
		return false, 0, fmt.Errorf("rate limit: %w", err)
	}
	wait := time.Second
	if len(have) == 1 && rate > 0 {
		elapsed := math.Max(0, now.Sub(have[0].UpdatedAt).Seconds())
		need := 1 - (have[0].Tokens + elapsed*rate)
		wait = time.Duration(math.Ceil(need/rate*1000)) * time.Millisecond
	}
	return false, wait, nil
}

// ExpireGateway deletes expired tokens and idempotency keys older than keep.
func (db *DB) ExpireGateway(ctx context.Context, now time.Time, keep time.Duration) error {
	if err := db.q(ctx, nil).Exec("DELETE FROM gateway_tokens WHERE expires_at <= ?", now).Error; err != nil {
		return fmt.Errorf("expire gateway tokens: %w", err)
	}
	if err := db.q(ctx, nil).Exec("DELETE FROM gateway_idempotency WHERE created_at <= ?", now.Add(-keep)).Error; err != nil {
		return fmt.Errorf("expire idempotency keys: %w", err)
	}
	return nil
}
