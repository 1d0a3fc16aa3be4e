package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/uwsportal/uwsportal/models"
)

// APIClientRow is an API client with the hashes of its secrets (the
// gateway compares them; nothing else should see them).
type APIClientRow struct {
	models.APIClient
	DepartmentID int64
	AccountName  string
	// ApproveDeactivate: the department wants a second person's approval
	// for every deactivate, which an application cannot obtain.
	ApproveDeactivate bool
	SecretHash        []byte
	PrevHash          []byte
}

type apiClientRecord struct {
	ID, Slug, AccountName, Name, OwnerName, OwnerEmail, Operations, CreatedBy string
	OwnerRole, PolicyOps                                                      string
	DepartmentID                                                              int64
	ApproveDeactivate                                                         bool
	SecretHash, PrevSecretHash                                                []byte
	PrevUntil, RevokedAt                                                      *time.Time
	CreatedAt, ExpiresAt                                                      time.Time
}

// dest are the record's fields in apiClientColumns order, for pgx's Scan.
func (r *apiClientRecord) dest() []any {
	return []any{&r.ID, &r.Slug, &r.AccountName, &r.Name, &r.OwnerName, &r.OwnerEmail, &r.Operations, &r.CreatedBy,
		&r.DepartmentID, &r.SecretHash, &r.PrevSecretHash, &r.PrevUntil, &r.RevokedAt, &r.CreatedAt, &r.ExpiresAt,
		&r.ApproveDeactivate, &r.OwnerRole, &r.PolicyOps}
}

func (r apiClientRecord) row() APIClientRow {
	c := models.APIClient{ID: r.ID, Department: r.Slug, Name: r.Name, OwnerName: r.OwnerName, OwnerEmail: r.OwnerEmail,
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, RevokedAt: r.RevokedAt, PrevUntil: r.PrevUntil,
		Role: models.Role(r.OwnerRole), Operations: splitOps(r.Operations), Granted: splitOps(r.PolicyOps)}
	return APIClientRow{APIClient: c, DepartmentID: r.DepartmentID, AccountName: r.AccountName, ApproveDeactivate: r.ApproveDeactivate, SecretHash: r.SecretHash, PrevHash: r.PrevSecretHash}
}

func splitOps(s string) []models.Operation {
	var out []models.Operation
	for _, op := range strings.Split(s, ",") {
		if op != "" {
			out = append(out, models.Operation(op))
		}
	}
	return out
}

// apiClientColumns read a client with what the department's policy grants
// its maker's role now (policy_ops), in the same statement: a policy change
// is seen by the very next call on every instance.
const (
	apiClientColumns = `SELECT c.id, d.slug, d.account_name, c.name, c.owner_name, c.owner_email,
       array_to_string(c.operations, ',') AS operations, c.created_by, c.department_id, c.secret_hash,
       c.prev_secret_hash, c.prev_until, c.revoked_at, c.created_at, c.expires_at, d.approve_deactivate, c.owner_role,
       array_to_string(ARRAY(SELECT p.operation FROM device_policies p WHERE p.department_id = c.department_id
                              AND p.role = c.owner_role ORDER BY p.operation), ',') AS policy_ops`
	apiClientFrom = `
  FROM api_clients c JOIN departments d ON d.id = c.department_id`
	apiClientSelect = apiClientColumns + apiClientFrom
)

// CreateAPIClient stores a new client of department deptID in tx.
func (db *DB) CreateAPIClient(ctx context.Context, tx *Tx, deptID int64, c models.APIClient, secretHash []byte) error {
	err := db.q(ctx, tx).Exec(`INSERT INTO api_clients (id, department_id, name, owner_name, owner_email, operations,
	       secret_hash, created_by, created_at, expires_at, owner_role) VALUES (?, ?, ?, ?, ?, string_to_array(?, ','), ?, ?, ?, ?, ?)`,
		c.ID, deptID, c.Name, c.OwnerName, c.OwnerEmail, strings.Join(models.OpNames(c.Operations), ","),
		secretHash, c.CreatedBy, c.CreatedAt, c.ExpiresAt, string(c.Role)).Error
	if err != nil {
		return fmt.Errorf("create API client: %w", err)
	}
	return nil
}

// APIClients lists department deptID's clients, newest first.
func (db *DB) APIClients(ctx context.Context, deptID int64) ([]models.APIClient, error) {
	var recs []apiClientRecord
	if err := db.q(ctx, nil).Raw(apiClientSelect+" WHERE c.department_id = ? ORDER BY c.created_at DESC, c.id", deptID).Scan(&recs).Error; err != nil {
		return nil, fmt.Errorf("list API clients: %w", err)
	}
	out := make([]models.APIClient, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.row().APIClient)
	}
	return out, nil
}

// APIClient reads client id (forUpdate in tx locks it). A client not
// found is ErrNotFound.
func (db *DB) APIClient(ctx context.Context, tx *Tx, id string, forUpdate bool) (APIClientRow, error) {
	q := apiClientSelect + " WHERE c.id = $1"
	if forUpdate {
		q += " FOR UPDATE OF c"
	}
	var r apiClientRecord
	err := db.row(tx)(ctx, q, id).Scan(r.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return APIClientRow{}, models.Errorf(models.ErrNotFound, "No API client %q.", models.ClipMark(id, 40))
	}
	if err != nil {
		return APIClientRow{}, fmt.Errorf("read API client: %w", err)
	}
	return r.row(), nil
}

// RotateAPIClientSecret replaces client id's secret hash; the previous
// one keeps working until prevUntil (nil: not at all). Every token and
// session handle given out so far came from a secret that is no longer
// the current one, so they end with it: at prevUntil, or now.
func (db *DB) RotateAPIClientSecret(ctx context.Context, tx *Tx, id string, newHash []byte, prevUntil *time.Time) error {
	err := db.q(ctx, tx).Exec(`UPDATE api_clients SET prev_secret_hash = CASE WHEN ?::timestamptz IS NULL THEN NULL ELSE secret_hash END,
	       prev_until = ?, secret_hash = ? WHERE id = ?`, prevUntil, prevUntil, newHash, id).Error
	if err != nil {
		return fmt.Errorf("rotate API client secret: %w", err)
	}
	if prevUntil == nil {
		err = db.q(ctx, tx).Exec("DELETE FROM gateway_tokens WHERE client_id = ?", id).Error
	} else {
		err = db.q(ctx, tx).Exec(`UPDATE gateway_tokens SET not_after = LEAST(COALESCE(not_after, ?::timestamptz), ?::timestamptz),
		       expires_at = LEAST(expires_at, ?::timestamptz) WHERE client_id = ?`, *prevUntil, *prevUntil, *prevUntil, id).Error
	}
	if err != nil {
		return fmt.Errorf("end the old secret's tokens: %w", err)
	}
	return nil
}

// RevokeAPIClient revokes client id and deletes its tokens and handles.
func (db *DB) RevokeAPIClient(ctx context.Context, tx *Tx, id, by string, at time.Time) error {
	if err := db.q(ctx, tx).Exec("UPDATE api_clients SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL", at, by, id).Error; err != nil {
		return fmt.Errorf("revoke API client: %w", err)
	}
	if err := db.q(ctx, tx).Exec("DELETE FROM gateway_tokens WHERE client_id = ?", id).Error; err != nil {
		return fmt.Errorf("revoke API client tokens: %w", err)
	}
	return nil
}

// UserNameByEmail finds a user's name by email ("" and false if none).
func (db *DB) UserNameByEmail(ctx context.Context, email string) (string, bool, error) {
	var names []string
	if err := db.q(ctx, nil).Raw("SELECT name FROM users WHERE lower(email) = lower(?) AND email <> '' LIMIT 1", email).Scan(&names).Error; err != nil {
		return "", false, fmt.Errorf("find user by email: %w", err)
	}
	if len(names) == 0 {
		return "", false, nil
	}
	return names[0], true, nil
}

// APIClientsExpiring lists the clients, not revoked, whose expiry falls
// between from and to (for the expiry notification).
func (db *DB) APIClientsExpiring(ctx context.Context, from, to time.Time) ([]models.APIClient, error) {
	var recs []apiClientRecord
	err := db.q(ctx, nil).Raw(apiClientSelect+" WHERE c.revoked_at IS NULL AND c.expires_at > ? AND c.expires_at <= ? ORDER BY c.expires_at, c.id",
		from, to).Scan(&recs).Error
	if err != nil {
		return nil, fmt.Errorf("list expiring API clients: %w", err)
	}
	out := make([]models.APIClient, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.row().APIClient)
	}
	return out, nil
}

// Caller is a gateway call's client as GatewayCaller reads it.
type Caller struct {
	APIClientRow
	// Session: the handle was live and the client's (its idle expiry slid).
	Session bool
	// Admitted: the call took a token from the client's bucket.
	Admitted bool
}

// gatewayCaller reads the client whose live bearer token hashes to $1;
// slides the idle expiry of its session handle (hashing to $2) if that is
// live and the same client's; and takes a token from the client's bucket
// (burst $5, rate $6; as TakeGatewayToken). $3 is now, $4 the handle's
// new expiry.
var gatewayCaller = `WITH b AS (
    SELECT client_id FROM gateway_tokens WHERE hash = $1 AND kind = 'bearer' AND expires_at > $3
), s AS (
    UPDATE gateway_tokens t SET expires_at = LEAST($4::timestamptz, COALESCE(t.not_after, 'infinity')) FROM b
     WHERE t.hash = $2 AND t.kind = 'session' AND t.expires_at > $3 AND t.client_id = b.client_id
    RETURNING t.client_id
), k AS (` + takeToken + ` SELECT client_id, $5::float8 - 1, $3 FROM b` + takeTokenConflict("$5", "$6") + `)`

// The statements of GatewayCaller and GatewayCallerWay, put together once:
// built on every call, the second's 4 KB of text was a tenth of what a
// gateway call allocated.
var (
	gatewayCallerSQL = gatewayCaller + `
	` + apiClientColumns + `, EXISTS (SELECT 1 FROM s), EXISTS (SELECT 1 FROM k)` + apiClientFrom + `
	 WHERE c.id = (SELECT client_id FROM b)`
	gatewayCallerWaySQL = gatewayCaller + `, cd AS (
    SELECT department_id FROM api_clients
     WHERE id = (SELECT client_id FROM b) AND EXISTS (SELECT 1 FROM k) AND EXISTS (SELECT 1 FROM s)
), ` + departmentTake + `
	` + apiClientColumns + `, EXISTS (SELECT 1 FROM s), EXISTS (SELECT 1 FROM k), ` + wayColumns +
		apiClientFrom + wayFrom + `
	 WHERE c.id = (SELECT client_id FROM b)`
)

// GatewayCaller reads, in one round trip, the client whose live bearer
// token hashes to bearer; slides the idle expiry of its session handle
// (hashing to handle) if that is live and the same client's; and takes a
// token from the client's bucket (as TakeGatewayToken). found is false for
// an unknown or expired bearer.
func (db *DB) GatewayCaller(ctx context.Context, bearer, handle []byte, now time.Time, idle time.Duration, burst, rate float64) (c Caller, found bool, err error) {
	var r apiClientRecord
	err = db.lazyRow(ctx, gatewayCallerSQL, bearer, handle, now, now.Add(idle), burst, rate).Scan(
		append(r.dest(), &c.Session, &c.Admitted)...)
	return scannedCaller(c, r, err)
}

// GatewayCallerWay is GatewayCaller for a device call: in the same round
// trip it also takes a token from the department's bucket (refilled at
// its ceiling, deptRate when no admin set one), but only when the call
// took the client's own and its session is live, and reads the way
// upstream. A call refused after the department's token was taken gives
// it back (RefundGatewayWay).
func (db *DB) GatewayCallerWay(ctx context.Context, bearer, handle []byte, now time.Time, idle time.Duration, burst, rate, deptRate float64) (c Caller, w GatewayWay, found bool, err error) {
	var r apiClientRecord
	var secs float64
	var user, state, sess, keyID *string
	err = db.lazyRow(ctx, gatewayCallerWaySQL, bearer, handle, now, now.Add(idle), burst, rate, deptRate).Scan(
		append(r.dest(), &c.Session, &c.Admitted, &w.Taken, &w.Rate, &secs, &user, &state, &w.Protocol, &sess, &w.Session.Ciphertext, &keyID)...)
	c, found, err = scannedCaller(c, r, err)
	if !found || err != nil {
		return c, GatewayWay{}, found, err
	}
	return c, scannedWay(w, secs, user, state, sess, keyID), true, nil
}

func scannedCaller(c Caller, r apiClientRecord, err error) (Caller, bool, error) {
	if errors.Is(err, pgx.ErrNoRows) {
		return Caller{}, false, nil
	}
	if err != nil {
		return Caller{}, false, fmt.Errorf("read gateway caller: %w", err)
	}
	c.APIClientRow = r.row()
	return c, true, nil
}

// ClientsLastUsed is, for each of the API clients ids that has done
// anything, the time of its latest audit event (a token, a call): one
// index lookup per client on (actor, id).
func (db *DB) ClientsLastUsed(ctx context.Context, ids []string) (map[string]time.Time, error) {
	actors := make([]string, len(ids))
	for i, id := range ids {
		actors[i] = "api-client:" + id
	}
	rows, err := db.Pool.Query(ctx, `SELECT a, e.occurred_at FROM unnest($1::text[]) a
		CROSS JOIN LATERAL (SELECT occurred_at FROM audit_events WHERE actor = a ORDER BY id DESC LIMIT 1) e`, actors)
	if err != nil {
		return nil, fmt.Errorf("clients last used: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var actor string
		var at time.Time
		if err := rows.Scan(&actor, &at); err != nil {
			return nil, fmt.Errorf("clients last used: %w", err)
		}
		out[strings.TrimPrefix(actor, "api-client:")] = at
	}
	return out, rows.Err()
}
