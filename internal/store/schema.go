package store

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"time"

	"github.com/uwsportal/uwsportal/migrations"
)

// Schema is the database's schema as this binary sees it: what it needs,
// what it understands, and what the database says it requires of a binary.
type Schema struct {
	Current   int64 `json:"current"`    // the highest migration applied
	Needs     int64 `json:"needs"`      // this binary's newest migration: the least it runs against
	Max       int64 `json:"max"`        // the most it runs against (migrations.MaxSchema)
	MinBinary int64 `json:"min_binary"` // schema_compat: the oldest migration a binary must know
}

// ErrSchemaNotUnderstood means this binary must not run against the schema:
// it is newer than the binary understands, or a contract migration removed
// what the binary uses.
var ErrSchemaNotUnderstood = errors.New("schema not understood by this binary")

// ErrSchemaBehind means migrations this binary needs are not applied yet.
var ErrSchemaBehind = errors.New("schema behind this binary")

// Understood says whether this binary may run against the schema at all.
func (s Schema) Understood() error {
	switch {
	case s.Current > s.Max:
		return fmt.Errorf("%w: the database is at schema version %d, this binary understands versions %d to %d: run a newer uwsportal release",
			ErrSchemaNotUnderstood, s.Current, s.Needs, s.Max)
	case s.MinBinary > s.Needs:
		return fmt.Errorf("%w: the database (schema version %d) requires a binary that knows migration %d or later, this one knows up to %d: run a newer uwsportal release",
			ErrSchemaNotUnderstood, s.Current, s.MinBinary, s.Needs)
	}
	return nil
}

// Ready says whether this binary can serve: the schema is understood and at
// or ahead of what the binary needs (ahead: a newer release migrated it
// during a rolling upgrade, which expand-only migrations allow).
func (s Schema) Ready() error {
	if err := s.Understood(); err != nil {
		return err
	}
	if s.Current < s.Needs {
		return fmt.Errorf("%w: the database is at schema version %d, this binary needs %d: run uwsportal migrate",
			ErrSchemaBehind, s.Current, s.Needs)
	}
	return nil
}

// Schema reads the applied schema version and the database's requirement
// of binaries.
func (db *DB) Schema(ctx context.Context) (Schema, error) {
	s := Schema{Needs: migrations.Latest(), Max: migrations.MaxSchema}
	applied, err := db.appliedMigrations(ctx)
	if err != nil {
		return s, err
	}
	for v := range applied {
		s.Current = max(s.Current, v)
	}
	var exists bool
	if err := db.Pool.QueryRow(ctx, `SELECT to_regclass('schema_compat') IS NOT NULL`).Scan(&exists); err != nil {
		return s, fmt.Errorf("schema: %w", err)
	}
	if exists {
		if err := db.Pool.QueryRow(ctx, `SELECT min_binary FROM schema_compat`).Scan(&s.MinBinary); err != nil {
			return s, fmt.Errorf("schema: %w", err)
		}
	}
	return s, nil
}

// Migration is one migration's state, for migrate status.
type Migration struct {
	Version   int64      `json:"version"`
	Name      string     `json:"name"`  // the file; "" when this binary does not have it
	State     string     `json:"state"` // applied, pending
	AppliedAt *time.Time `json:"applied_at,omitempty"`
}

// Migrations lists this binary's migrations and those applied that it does
// not have (a newer release's), in version order.
func (db *DB) Migrations(ctx context.Context) ([]Migration, error) {
	applied, err := db.appliedMigrations(ctx)
	if err != nil {
		return nil, err
	}
	p, err := db.provider()
	if err != nil {
		return nil, err
	}
	var out []Migration
	known := map[int64]bool{}
	for _, src := range p.ListSources() {
		m := Migration{Version: src.Version, Name: path.Base(src.Path), State: "pending"}
		if at, ok := applied[src.Version]; ok {
			m.State, m.AppliedAt = "applied", &at
		}
		known[src.Version] = true
		out = append(out, m)
	}
	for v, at := range applied {
		if !known[v] {
			out = append(out, Migration{Version: v, State: "applied", AppliedAt: &at})
		}
	}
	slices.SortFunc(out, func(a, b Migration) int { return int(a.Version - b.Version) })
	return out, nil
}

// appliedMigrations reads goose's table: each applied version and when.
func (db *DB) appliedMigrations(ctx context.Context) (map[int64]time.Time, error) {
	var exists bool
	if err := db.Pool.QueryRow(ctx, `SELECT to_regclass('goose_db_version') IS NOT NULL`).Scan(&exists); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	out := map[int64]time.Time{}
	if !exists {
		return out, nil
	}
	rows, err := db.Pool.Query(ctx, `SELECT version_id, max(tstamp) FROM goose_db_version
		WHERE is_applied AND version_id > 0 GROUP BY version_id`)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int64
		var at time.Time
		if err := rows.Scan(&v, &at); err != nil {
			return nil, fmt.Errorf("schema: %w", err)
		}
		out[v] = at
	}
	return out, rows.Err()
}

// MigrateTo applies the migrations up to and including version (upgrade
// tests start from an older release's schema).
func (db *DB) MigrateTo(ctx context.Context, version int64) (int, error) {
	p, err := db.provider()
	if err != nil {
		return 0, fmt.Errorf("migrations: %w", err)
	}
	res, err := p.UpTo(ctx, version)
	if err != nil {
		return len(res), fmt.Errorf("migrate to %d: %w", version, err)
	}
	return len(res), nil
}
