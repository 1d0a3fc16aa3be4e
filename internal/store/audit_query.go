package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/uwsportal/uwsportal/models"
)

// actorIDs is what an actor filter matches: the text itself as an actor
// id, and the ids of the people whose name, email or email's local part it
// is (case-insensitive).
const actorIDs = `SELECT $1::text UNION SELECT id::text FROM users WHERE lower(name) = lower($1) OR lower(email) = lower($1)
	OR lower(split_part(email, '@', 1)) = lower($1)`

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// resolveActor lists the actor ids f.Actor matches, nil without an actor
// filter. Resolved before the search, the list lets the planner see how
// few actors it asks for: as a subquery its estimate sent a month of
// events through the time index for a page of 21 (300 ms over 3M).
func resolveActor(ctx context.Context, q querier, f models.AuditFilter) ([]string, error) {
	if f.Actor == "" {
		return nil, nil
	}
	rows, err := q.Query(ctx, actorIDs, f.Actor)
	if err != nil {
		return nil, fmt.Errorf("audit actor: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("audit actor: %w", err)
	}
	return ids, nil
}

// auditWhere turns a filter into a parameterised WHERE clause; no value
// ever reaches the SQL text. actors is resolveActor's list for f.
// departments nil means every department; a non-nil list (even empty)
// restricts to it, so an empty grant sees nothing.
func auditWhere(f models.AuditFilter, actors, departments []string, paged bool) (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, arg any) {
		args = append(args, arg)
		conds = append(conds, strings.ReplaceAll(cond, "$?", "$"+strconv.Itoa(len(args))))
	}
	if !f.Since.IsZero() {
		add("occurred_at >= $?", f.Since)
	}
	if !f.Until.IsZero() {
		add("occurred_at < $?", f.Until)
	}
	if f.Actor != "" {
		// An actor id, or a person by name, email or the email's local part,
		// as one list: "actor = $1 OR actor IN (…)" kept the planner off the
		// (department, actor, id) and (actor, id) indexes, and a page of a
		// rare actor walked the whole trail by id.
		add("actor = ANY($?)", nonNil(actors))
	}
	if f.Department != "" {
		add("department = $?", f.Department)
	}
	if departments != nil {
		add("department = ANY($?)", departments)
	}
	if f.CodePrefix != "" {
		// text_pattern_ops index on code serves this prefix match.
		add("code LIKE $?", likeEscape(f.CodePrefix)+"%")
	}
	if f.Outcome != "" {
		add("outcome = $?", string(f.Outcome))
	}
	if f.Text != "" {
		textConds(f.Text, add)
	}
	if paged && f.Before > 0 {
		add("id < $?", f.Before)
	}
	if paged && f.After > 0 {
		add("id > $?", f.After)
	}
	if len(conds) == 0 {
		return "", args
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// likeEscape makes s match literally inside a LIKE pattern (backslash is
// Postgres's default LIKE escape).
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// SearchAudit returns one page of events matching f, newest first: ids
// below f.Before (or, with f.After, the f.Limit ids just above it). Ids are
// gapless and given out in commit order, so paging on id neither skips nor
// repeats an event while others are being appended.
func (db *DB) SearchAudit(ctx context.Context, f models.AuditFilter, departments []string) ([]models.AuditEvent, error) {
	actors, err := resolveActor(ctx, db.Pool, f)
	if err != nil {
		return nil, err
	}
	sql, args, limit := searchSQL(f, actors, departments, false)
	var out []models.AuditEvent
	switch {
	case f.Text != "":
		out, err = db.searchText(ctx, f, actors, departments, sql, args, limit)
	case !f.Since.IsZero() || !f.Until.IsZero():
		out, err = db.searchWindow(ctx, f, actors, departments, sql, args, limit)
	default:
		out, err = db.searchRows(ctx, sql, args, limit)
	}
	if err != nil {
		return nil, err
	}
	if f.After > 0 {
		slices.Reverse(out)
	}
	return out, nil
}

// searchRows runs one search query and reads its events.
func (db *DB) searchRows(ctx context.Context, sql string, args []any, limit int) ([]models.AuditEvent, error) {
	return db.searchRowsOn(ctx, func() {}, sql, args, limit)
}

// searchRowsOn is searchRows, calling started once it has a connection.
func (db *DB) searchRowsOn(ctx context.Context, started func(), sql string, args []any, limit int) ([]models.AuditEvent, error) {
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("search audit: %w", err)
	}
	defer conn.Release()
	started()
	// Planned for its values each time (an unnamed statement): a cached
	// generic plan cannot tell a rare actor or word from a common one, and
	// chose to read a month of events by time for a page of 21.
	rows, err := conn.Query(ctx, sql, append([]any{pgx.QueryExecModeCacheDescribe}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("search audit: %w", err)
	}
	defer rows.Close()
	out := make([]models.AuditEvent, 0, limit)
	var detail []byte
	for rows.Next() {
		var e models.AuditEvent
		if err := scanAudit(rows, &e, &detail); err != nil {
			return nil, fmt.Errorf("search audit: %w", err)
		}
		if err := decodeDetail(&e, detail); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search audit: %w", err)
	}
	return out, nil
}

// searchSQL is the query SearchAudit sends for f, its arguments and the
// page size it asks for; window: the query that reads the page's ids
// through the window's indexes (searchWindow).
func searchSQL(f models.AuditFilter, actors, departments []string, window bool) (string, []any, int) {
	limit := f.Limit
	if limit <= 0 {
		limit = models.AuditPageDefault
	}
	limit = min(limit, models.AuditPageMax+1) // +1: the service asks one extra to see further pages
	where, args := auditWhere(f, actors, departments, true)
	order := "DESC"
	if f.After > 0 {
		order = "ASC"
	}
	args = append(args, limit)
	page := ` ORDER BY id ` + order + ` LIMIT $` + strconv.Itoa(len(args))
	if window && f.Text == "" {
		// The page's ids first, from the window's index (…_time_idx: the
		// filtered column, the time and the id), in indexOrder so that the
		// primary key's order cannot be walked; then only the page's events
		// are read.
		return `SELECT ` + auditColumns + ` FROM audit_events WHERE id IN (` + indexOrder(`SELECT id FROM audit_events`+where+page) +
			`) ORDER BY id ` + order, args, limit
	}
	return `SELECT ` + auditColumns + ` FROM audit_events` + where + page, args, limit
}

// windowHedge is how long the planner's own plan of a page over a time
// window runs alone before the window's indexes are read beside it.
const windowHedge = 5 * time.Millisecond

// searchWindow finds a page over a time window: the planner's plan and, if
// that has not answered within windowHedge, the page's ids read through
// the window's indexes beside it (hedged). Postgres takes ORDER BY id …
// LIMIT for a walk back from the newest event whenever it believes the
// filter's events are spread evenly over the trail: over a window in the
// past, or a department quiet in a recent one, the walk crosses every
// event after the window (a department over a month a year back: 658 ms
// on a trail of 3 million events). The window's indexes read the window's
// entries only, which for a long window full of the filter's events is
// more than the walk; so both run, and a page the planner answers in time
// costs nothing more.
//
// A window that ended at least as long ago as it lasted (longPast) is read
// from the window's indexes alone: the walk would pass every event since
// the window ended, more than the window holds if events came at an even
// rate, and racing it costs a core and a cancelled query for nothing (a
// department over a month half a year back: 2 ms alone, 58 ms p95 raced
// on two cores).
func (db *DB) searchWindow(ctx context.Context, f models.AuditFilter, actors, departments []string, sql string, args []any, limit int) ([]models.AuditEvent, error) {
	hedge := windowHedge
	if longPast(f, db.Now()) {
		hedge = 0
	}
	if db.windowHedge != nil {
		hedge = *db.windowHedge
	}
	plan := func(ctx context.Context, started func()) ([]models.AuditEvent, error) {
		return db.searchRowsOn(ctx, started, sql, args, limit)
	}
	index := func(ctx context.Context) ([]models.AuditEvent, error) {
		sql, args, limit := searchSQL(f, actors, departments, true)
		return db.searchRows(ctx, sql, args, limit)
	}
	return db.hedged(ctx, hedge, plan, index)
}

// longPast says f's window has both ends and ended at least as long
// before now as it lasted.
func longPast(f models.AuditFilter, now time.Time) bool {
	return !f.Since.IsZero() && !f.Until.IsZero() && f.Until.Sub(f.Since) <= now.Sub(f.Until)
}

// GetAuditEvent returns one event, or an ErrNotFound error.
func (db *DB) GetAuditEvent(ctx context.Context, id int64) (models.AuditEvent, error) {
	var e models.AuditEvent
	var detail []byte
	err := scanAudit(db.Pool.QueryRow(ctx, `SELECT `+auditColumns+` FROM audit_events WHERE id = $1`, id), &e, &detail)
	if errors.Is(err, pgx.ErrNoRows) {
		return e, models.Errorf(models.ErrNotFound, "There is no audit event %d.", id)
	}
	if err != nil {
		return e, fmt.Errorf("audit event %d: %w", id, err)
	}
	return e, decodeDetail(&e, detail)
}

// ExportAudit streams every event matching f (its page cursor and limit
// ignored) to fn in id order, oldest first, one row at a time: memory stays
// constant however many rows match. fn must not keep the event it is given;
// the same one is reused for the next row. It returns the rows passed to fn.
func (db *DB) ExportAudit(ctx context.Context, f models.AuditFilter, departments []string, fn func(*models.AuditEvent) error) (int64, error) {
	tx, err := db.Pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return 0, fmt.Errorf("export audit: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// The pool's 60 s statement timeout would cut a large export to a slow
	// client; the request's context still ends it when the client goes.
	if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = '30min'`); err != nil {
		return 0, fmt.Errorf("export audit: %w", err)
	}
	actors, err := resolveActor(ctx, tx, f)
	if err != nil {
		return 0, fmt.Errorf("export audit: %w", err)
	}
	where, args := auditWhere(f, actors, departments, false)
	rows, err := tx.Query(ctx, `SELECT `+auditColumns+` FROM audit_events`+where+` ORDER BY id`, args...)
	if err != nil {
		return 0, fmt.Errorf("export audit: %w", err)
	}
	defer rows.Close()
	var n int64
	var e models.AuditEvent
	var detail []byte
	for rows.Next() {
		if err := scanAudit(rows, &e, &detail); err != nil {
			return n, fmt.Errorf("export audit: %w", err)
		}
		// Streamed as stored: decoding and re-encoding every row's detail
		// was most of the export's cost.
		e.Detail, e.DetailJSON = nil, detail
		if err := fn(&e); err != nil {
			return n, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("export audit: %w", err)
	}
	return n, nil
}

// decodeDetail reads the stored JSON, keeping numbers as written.
func decodeDetail(e *models.AuditEvent, detail []byte) error {
	e.Detail = map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(detail))
	dec.UseNumber()
	if err := dec.Decode(&e.Detail); err != nil {
		return fmt.Errorf("audit event %d: detail: %w", e.ID, err)
	}
	return nil
}
