package store_test

import (
	"context"
	"testing"

	"github.com/uwsportal/uwsportal/internal/testdb"
)

// The trail's autovacuum counts as off when the server's is, or when it is
// turned off for audit_events alone.
func TestAuditVacuumedSeesItTurnedOffForTheTrail(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	var server bool
	if err := db.Pool.QueryRow(ctx, `SELECT current_setting('autovacuum')::bool`).Scan(&server); err != nil {
		t.Fatal(err)
	}
	on, err := db.AuditVacuumed(ctx)
	if err != nil || on != server {
		t.Fatalf("autovacuum on the server %v: AuditVacuumed says %v, %v", server, on, err)
	}
	if _, err := db.Pool.Exec(ctx, `ALTER TABLE audit_events SET (autovacuum_enabled = false)`); err != nil {
		t.Fatal(err)
	}
	if on, err := db.AuditVacuumed(ctx); err != nil || on {
		t.Fatalf("autovacuum off for audit_events: AuditVacuumed says %v, %v", on, err)
	}
	if _, err := db.Pool.Exec(ctx, `ALTER TABLE audit_events SET (autovacuum_enabled = true)`); err != nil {
		t.Fatal(err)
	}
	if on, err := db.AuditVacuumed(ctx); err != nil || on != server {
		t.Fatalf("autovacuum back on for audit_events: AuditVacuumed says %v, %v", on, err)
	}
}
