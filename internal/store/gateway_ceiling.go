package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
)

// departmentTake are GatewayCallerWay's CTEs lim and take. lim is the
// department's rate: the admin's ceiling, or the default ($7). take takes
// one token from its bucket, of burst one second's worth (at least 1),
// and returns a row only when there was one. The department is cd's (no
// row: nothing is taken); $3 is now.
const departmentTake = `lim AS (
    SELECT COALESCE((SELECT per_second FROM gateway_ceilings WHERE department_id = (SELECT department_id FROM cd)), $7::float8) AS rate
), take AS (
    INSERT INTO gateway_department_buckets AS bk (department_id, tokens, updated_at)
    SELECT department_id, GREATEST(rate, 1) - 1, $3 FROM cd, lim
    ON CONFLICT (department_id) DO UPDATE
       SET tokens = LEAST(GREATEST((SELECT rate FROM lim), 1), bk.tokens + GREATEST(0, EXTRACT(EPOCH FROM (excluded.updated_at - bk.updated_at))) * (SELECT rate FROM lim)) - 1,
           updated_at = GREATEST(bk.updated_at, excluded.updated_at)
     WHERE LEAST(GREATEST((SELECT rate FROM lim), 1), bk.tokens + GREATEST(0, EXTRACT(EPOCH FROM (excluded.updated_at - bk.updated_at))) * (SELECT rate FROM lim)) >= 1
    RETURNING tokens
)`

// wayColumns read, beside departmentTake, whether the token was taken, the
// rate, and how long until the bucket holds a token (from the snapshot the
// conditional update saw); then the department's credential (its account,
// state and protocol, never its ciphertext) and the account's shared
// session as sealed (wayFrom joins them to the client's department d).
const wayColumns = `EXISTS (SELECT 1 FROM take), (SELECT rate FROM lim),
       COALESCE((SELECT (1 - (gb.tokens + GREATEST(0, EXTRACT(EPOCH FROM ($3::timestamptz - gb.updated_at))) * l.rate)) / l.rate
                   FROM gateway_department_buckets gb, lim l WHERE gb.department_id = c.department_id), 0),
       cr.username, cr.state, d.protocol, us.username, us.ciphertext, us.key_id`

const wayFrom = `
  LEFT JOIN credentials cr ON cr.department_id = d.id
  LEFT JOIN upstream_sessions us ON us.username = lower(cr.username)`

// GatewayWay is what GatewayCallerWay found of the department's way.
type GatewayWay struct {
	// Taken: a token came from the department's bucket. Otherwise Rate is
	// its ceiling and Wait how long until a token is there.
	Taken bool
	Rate  float64
	Wait  time.Duration
	// Username is the department's UWS account ("": no credential), with
	// the credential's state and the department's protocol.
	Username, State, Protocol string
	// Session is the account's shared session as sealed (Session.Username
	// "": none cached).
	Session SealedSession
}

func scannedWay(w GatewayWay, secs float64, user, state, sess, keyID *string) GatewayWay {
	if !w.Taken {
		w.Wait = max(time.Duration(math.Ceil(secs*1000))*time.Millisecond, time.Millisecond)
	}
	w.Username, w.State, w.Session.Username, w.Session.KeyID = deref(user), deref(state), deref(sess), deref(keyID)
	return w
}

// RefundGatewayWay gives back the token a call refused after
// GatewayCallerWay took from department deptID's bucket (rate its ceiling
// as read then), never past the bucket's burst.
func (db *DB) RefundGatewayWay(ctx context.Context, deptID int64, rate float64) error {
	var n int
	err := db.lazyRow(ctx, `WITH r AS (UPDATE gateway_department_buckets SET tokens = LEAST(tokens + 1, GREATEST($2::float8, 1))
	 WHERE department_id = $1 RETURNING 1) SELECT count(*) FROM r`, deptID, rate).Scan(&n)
	if err != nil {
		return fmt.Errorf("give back the department's token: %w", err)
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
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
