package store_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
)

// DATABASE_URL's pool_max_conns is the operator's: it replaces the
// default pool of 20 (so more replicas fit in max_connections) and caps
// what a command asks for; without it the command's size, or 20, holds.
func TestDatabaseURLsPoolMaxConnsSetsThePool(t *testing.T) {
	t.Parallel()
	base := testdb.URL(t)
	with := func(n string) string {
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("pool_max_conns", n)
		u.RawQuery = q.Encode()
		return u.String()
	}
	for _, c := range []struct {
		name   string
		dsn    string
		wanted int32
		want   int32
	}{
		{"nothing set", base, 0, 20},
		{"the command's size", base, 7, 7},
		{"the operator's, below the default", with("3"), 0, 3},
		{"the operator's, above the default", with("40"), 0, 40},
		{"the operator's caps the command's", with("3"), 10, 3},
		{"the command's below the operator's", with("40"), 4, 4},
	} {
		db, err := store.Open(context.Background(), c.dsn, store.Options{MaxConns: c.wanted})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := db.Pool.Config().MaxConns; got != c.want {
			t.Errorf("%s: a pool of %d, want %d", c.name, got, c.want)
		}
		db.Close()
	}
}
