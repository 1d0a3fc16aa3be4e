package testdb

import (
	"context"
	"testing"
)

func TestNewGivesAnEmptyMigratedDatabase(t *testing.T) {
	t.Parallel()
	db := New(t)
	cur, latest, err := db.SchemaVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cur != latest || cur == 0 {
		t.Fatalf("schema at %d, latest %d", cur, latest)
	}
	var n int
	if err := db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM audit_events").Scan(&n); err != nil || n != 0 {
		t.Fatalf("audit_events: %d rows, err %v", n, err)
	}
}

func BenchmarkNewDatabase(b *testing.B) {
	for b.Loop() {
		URL(b)
	}
}
