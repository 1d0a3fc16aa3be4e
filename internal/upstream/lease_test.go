package upstream_test

import (
	"testing"
	"time"

	"log/slog"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/internal/upstream"
)

// Issue 13, path 6: the lease outlives the longest login, two bearer
// fetches and two sends of HTTPTimeout each; the old lease (2×) did not.
func TestLeaseOutlivesTheLongestLogin(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	for _, timeout := range []time.Duration{time.Second, 30 * time.Second} {
		s, err := upstream.New(upstream.Config{HTTPTimeout: timeout}, upstream.Deps{DB: db, Keys: apptest.Keyring(t),
			Log: slog.New(slog.DiscardHandler), Now: time.Now})
		if err != nil {
			t.Fatal(err)
		}
		if longest := 4 * timeout; s.LoginLease() <= longest {
			t.Fatalf("lease %v is not longer than the longest login %v", s.LoginLease(), longest)
		}
	}
}
