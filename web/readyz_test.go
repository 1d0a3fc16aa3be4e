package web

import (
	"context"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/migrations"
)

// During a rolling upgrade a newer release migrates the schema under this
// binary: it stays ready while the schema is within what it understands,
// and says why when it is not.
func TestReadyzDuringARollingUpgrade(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.New(t)
	ts := newTestServer(t, db, nil)
	next := migrations.Latest() + 1
	steps := []struct {
		sql    string
		status int
		reason string
	}{
		{"", 200, ""},
		{"INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)", 200, ""},
		{"UPDATE schema_compat SET min_binary = $1", 503, "requires a binary that knows migration"},
		{"UPDATE schema_compat SET min_binary = 0 WHERE $1 > 0", 200, ""},
		{"INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1 + 1000, true)", 503, "this binary understands versions"},
	}
	for i, st := range steps {
		if st.sql != "" {
			if _, err := db.Pool.Exec(ctx, st.sql, next); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
		res, body := get(t, ts.URL+"/readyz")
		if res.StatusCode != st.status || !strings.Contains(body, st.reason) {
			t.Fatalf("step %d (%s): %d %s, want %d %q", i, st.sql, res.StatusCode, body, st.status, st.reason)
		}
	}
}

// /readyz answers 503, naming the key ID, while the master keys cannot open
// the sealed data.
func TestReadyzProvesTheMasterKey(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	if _, err := db.Pool.Exec(context.Background(), `INSERT INTO notify_channels (kind, key_id, target_sealed, target_shown, events, created_by, created_at)
		VALUES ('webhook', 'feedbeef', '\x00', 'https://example.com/…', '{}', 'test', now())`); err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, db, nil)
	res, body := get(t, ts.URL+"/readyz")
	if res.StatusCode != 503 || !strings.Contains(body, "sealed with master key ID feedbeef") {
		t.Fatalf("a missing key: %d %s", res.StatusCode, body)
	}
}

// Every path deployment files may probe is routed.
func TestOperationalPathsAreRouted(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testdb.New(t), nil)
	for _, p := range OperationalPaths {
		if res, body := get(t, ts.URL+p); res.StatusCode != 200 {
			t.Errorf("%s: %d %s", p, res.StatusCode, body)
		}
	}
}
