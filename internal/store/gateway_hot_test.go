package store_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/uwsportal/uwsportal/internal/testdb"
)

// What every gateway call updates is in no index, so each update is
// heap-only (HOT): no new index entries, less WAL, and nothing for vacuum
// in the indexes. Checked with Postgres's own count of HOT updates, in a
// transaction, for the session handle's slide and both token buckets.
func TestGatewayCallsUpdateNoIndexedColumn(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := tx.Rollback(ctx); err != nil {
			t.Error(err)
		}
	}()
	setup := []string{
		`INSERT INTO departments (slug, name) VALUES ('hot', 'Hot')`,
		`INSERT INTO api_clients (id, name, department_id, owner_email, operations, secret_hash, created_by, created_at, expires_at)
		 SELECT 'uwsc_hotclient00000000000', 'Hot', id, 'a@example.com', '{}', '\x00', 'test', now(), now() + interval '1 year' FROM departments WHERE slug = 'hot'`,
		`INSERT INTO gateway_tokens (hash, client_id, kind, expires_at) VALUES ('\x01', 'uwsc_hotclient00000000000', 'session', now())`,
		`INSERT INTO gateway_buckets (client_id, tokens, updated_at) VALUES ('uwsc_hotclient00000000000', 10, now())`,
		`INSERT INTO gateway_department_buckets (department_id, tokens, updated_at) SELECT id, 10, now() FROM departments WHERE slug = 'hot'`,
	}
	for _, s := range setup {
		if _, err := tx.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	for _, c := range []struct{ table, update string }{
		{"gateway_tokens", `UPDATE gateway_tokens SET expires_at = now() + interval '20 minutes' WHERE hash = '\x01' AND kind = 'session'`},
		{"gateway_buckets", `UPDATE gateway_buckets SET tokens = tokens - 1, updated_at = now() WHERE client_id = 'uwsc_hotclient00000000000'`},
		{"gateway_department_buckets", `UPDATE gateway_department_buckets SET tokens = tokens - 1, updated_at = now()`},
	} {
		before := hotUpdates(t, tx, c.table)
		if _, err := tx.Exec(ctx, c.update); err != nil {
			t.Fatal(err)
		}
		if got := hotUpdates(t, tx, c.table) - before; got != 1 {
			t.Errorf("%s: a call's update was not heap-only (%d HOT updates of 1): an index holds a column it changes", c.table, got)
		}
	}
}

// hotUpdates is the transaction's count of HOT updates of table so far.
func hotUpdates(t *testing.T, tx pgx.Tx, table string) int64 {
	t.Helper()
	var n int64
	if err := tx.QueryRow(context.Background(), `SELECT n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = $1`, table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
