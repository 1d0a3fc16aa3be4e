package store

import (
	"context"
	"fmt"
)

// AuditVacuumed says whether autovacuum looks after the audit trail: it is
// on in the server and not turned off for audit_events. Without it the
// visibility map stays empty and the window's indexes (searchWindow) read
// the table for every entry, so a page over a past month costs tens of ms
// instead of a few.
func (db *DB) AuditVacuumed(ctx context.Context) (bool, error) {
	var on bool
	err := db.Pool.QueryRow(ctx, `SELECT current_setting('autovacuum')::bool
		AND coalesce((SELECT option_value::bool FROM pg_class, pg_options_to_table(reloptions)
			WHERE oid = 'audit_events'::regclass AND option_name = 'autovacuum_enabled'), true)`).Scan(&on)
	if err != nil {
		return false, fmt.Errorf("autovacuum: %w", err)
	}
	return on, nil
}
