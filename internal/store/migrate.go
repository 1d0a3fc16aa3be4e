package store

import (
	"context"
	"fmt"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/uwsportal/uwsportal/migrations"
)

// provider is built once per handle: /readyz asks for the schema version
// on every health check.
func (db *DB) provider() (*goose.Provider, error) {
	db.goose.once.Do(func() { db.goose.p, db.goose.err = db.newProvider() })
	return db.goose.p, db.goose.err
}

func (db *DB) newProvider() (*goose.Provider, error) {
	// A session-level advisory lock: two instances starting together take
	// turns, and the second finds nothing left to apply.
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectPostgres, db.SQL, migrations.FS,
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true))
}

// Migrate applies every pending migration and returns how many it applied.
func (db *DB) Migrate(ctx context.Context) (int, error) {
	p, err := db.provider()
	if err != nil {
		return 0, fmt.Errorf("migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("migrate: %w", err)
	}
	return len(res), nil
}

// SchemaVersion returns the applied and the latest known migration version.
func (db *DB) SchemaVersion(ctx context.Context) (current, latest int64, err error) {
	p, err := db.provider()
	if err != nil {
		return 0, 0, err
	}
	latest = p.ListSources()[len(p.ListSources())-1].Version
	current, err = p.GetDBVersion(ctx)
	return current, latest, err
}
