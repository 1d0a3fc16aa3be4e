package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
)

// gatewayWay takes one token from a department's bucket and reads what a
// call needs to go on upstream, in one statement. The bucket's rate is the
// admin's ceiling or the default ($2), its burst one second's worth (at
// least 1); the refusal's numbers are read from the same snapshot the
// conditional update saw. Then the department's credential (its account,
// state and protocol, never its ciphertext) and the account's shared
// session as sealed.
const gatewayWay = `WITH lim AS (
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
                   FROM gateway_department_buckets b, lim l WHERE b.department_id = $1), 0),
       c.username, c.state, d.protocol, s.username, s.ciphertext, s.key_id
  FROM departments d
  LEFT JOIN credentials c ON c.department_id = d.id
  LEFT JOIN upstream_sessions s ON s.username = lower(c.username)
 WHERE d.id = $1`

// GatewayWay is what TakeGatewayWay found.
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

// TakeGatewayWay takes one token from department deptID's bucket, shared
// by all its API clients and every instance, refilled at its ceiling
// (defaultRate when no admin set one), and reads the department's
// credential and shared session, in one round trip.
func (db *DB) TakeGatewayWay(ctx context.Context, deptID int64, defaultRate float64, now time.Time) (GatewayWay, error) {
	var w GatewayWay
	var secs float64
	var user, state, sess, keyID *string
	err := db.lazyRow(ctx, gatewayWay, deptID, defaultRate, now).Scan(&w.Taken, &w.Rate, &secs, &user, &state, &w.Protocol,
		&sess, &w.Session.Ciphertext, &keyID)
	if err != nil {
		return GatewayWay{}, fmt.Errorf("department ceiling: %w", err)
	}
	if !w.Taken {
		w.Wait = max(time.Duration(math.Ceil(secs*1000))*time.Millisecond, time.Millisecond)
	}
	w.Username, w.State, w.Session.Username, w.Session.KeyID = deref(user), deref(state), deref(sess), deref(keyID)
	return w, nil
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
