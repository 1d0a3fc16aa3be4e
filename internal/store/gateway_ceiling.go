package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
)

// takeDepartmentToken takes one token from a department's bucket: its
// rate is the admin's ceiling or the default ($2), its burst one second's
// worth (at least 1). It returns whether a token was taken, the rate, and
// how many seconds until one is there; the refusal's numbers are read
// from the same snapshot the conditional update saw.
const takeDepartmentToken = `WITH lim AS (
    SELECT COALESCE((SELECT per_second FROM gateway_ceilings WHERE department_id = $1), $2::float8) AS rate
), take AS (
    INSERT INTO gateway_department_buckets AS bk (department_id, tokens, updated_at)
    SELECT $1, GREATEST(rate, 1) - 1, $3 FROM lim
    ON CONFLICT (department_id) DO UPDATE
       SET tokens = LEAST(GREATEST((SELECT rate FROM lim), 1), bk.tokens + GREATEST(0, EXTRACT(EPOCH FROM (excluded.updated_at - bk.updated_at))) * (SELECT rate FROM lim)) - 1,
           updated_at = GREATEST(bk.updated_at, excluded.updated_at)
     WHERE LEAST(GREATEST((SELECT rate FROM lim), 1), bk.tokens + GREATEST(0, EXTRACT(EPOCH FROM (excluded.updated_at - bk.updated_at))) * (SELECT rate FROM lim)) >= 1
    RETURNING tokens
)
SELECT EXISTS (SELECT 1 FROM take), (SELECT rate FROM lim),
       COALESCE((SELECT (1 - (b.tokens + GREATEST(0, EXTRACT(EPOCH FROM ($3::timestamptz - b.updated_at))) * l.rate)) / l.rate
                   FROM gateway_department_buckets b, lim l WHERE b.department_id = $1), 0)`

// TakeDepartmentToken takes one token from department deptID's bucket,
// shared by all its API clients and every instance, refilled at its
// ceiling (defaultRate when no admin set one). When the bucket is empty it
// returns false, the ceiling, and how long until a token is there.
func (db *DB) TakeDepartmentToken(ctx context.Context, deptID int64, defaultRate float64, now time.Time) (ok bool, rate float64, wait time.Duration, err error) {
	var secs float64
	if err := db.lazyRow(ctx, takeDepartmentToken, deptID, defaultRate, now).Scan(&ok, &rate, &secs); err != nil {
		return false, 0, 0, fmt.Errorf("department ceiling: %w", err)
	}
	if !ok {
		wait = max(time.Duration(math.Ceil(secs*1000))*time.Millisecond, time.Millisecond)
	}
	return ok, rate, wait, nil
}

// GatewayCeiling reads department deptID's ceiling (set false: none set,
// the default applies).
func (db *DB) GatewayCeiling(ctx context.Context, deptID int64) (perSecond float64, set bool, err error) {
	err = db.Pool.QueryRow(ctx, "SELECT per_second FROM gateway_ceilings WHERE department_id = $1", deptID).Scan(&perSecond)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read gateway ceiling: %w", err)
	}
	return perSecond, true, nil
}

// SetGatewayCeiling sets department deptID's ceiling in tx (perSecond 0:
// back to the default).
func (db *DB) SetGatewayCeiling(ctx context.Context, tx *Tx, deptID int64, perSecond float64, by string, at time.Time) error {
	var err error
	if perSecond == 0 {
		err = db.q(ctx, tx).Exec("DELETE FROM gateway_ceilings WHERE department_id = ?", deptID).Error
	} else {
		err = db.q(ctx, tx).Exec(`INSERT INTO gateway_ceilings (department_id, per_second, set_by, set_at) VALUES (?, ?, ?, ?)
		       ON CONFLICT (department_id) DO UPDATE SET per_second = excluded.per_second, set_by = excluded.set_by, set_at = excluded.set_at`,
			deptID, perSecond, by, at).Error
	}
	if err != nil {
		return fmt.Errorf("set gateway ceiling: %w", err)
	}
	return nil
}
