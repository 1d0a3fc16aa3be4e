package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
)

// A query whose context ends stops at the server, and its connection
// stays in the pool: a search that loses its race (hedged) must not leave
// Postgres walking the trail for nobody, nor cost a new connection.
func TestACancelledQueryStopsAtTheServer(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var pid int32
	if err := conn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err = conn.Exec(short, `SELECT pg_sleep(30)`)
	if err == nil {
		t.Fatal("a 30 s sleep ended within 100 ms without an error")
	}
	closed := conn.Conn().IsClosed()
	conn.Release()
	if closed {
		t.Error("the connection was closed to stop the query")
	}
	// The backend is asked what it runs from another connection of the
	// pool, or from itself, which is then running that question.
	var sleeping, alive bool
	deadline := time.Now().Add(2 * time.Second)
	for {
		err := db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active' AND query LIKE 'SELECT pg_sleep%'),
		       EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)`, pid).Scan(&sleeping, &alive)
		if err != nil {
			t.Fatal(err)
		}
		if !sleeping {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("backend %d still runs the cancelled query", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !alive {
		t.Errorf("backend %d is gone: the connection was closed, not the query cancelled", pid)
	}
}

// A connection whose statement a cancel request stopped goes back to the
// pool only after a SELECT 1 sent after the request has run, so a signal
// the backend takes late cannot stop the next user's statement; one that
// was not cancelled goes back as it is.
func TestACancelledConnectionSpendsItsCancelBeforeReuse(t *testing.T) {
	t.Parallel()
	trips := &store.RoundTrips{Whole: true}
	db, err := store.Open(context.Background(), testdb.URL(t), store.Options{MaxConns: 1, RoundTrips: trips})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	ctx := context.Background()
	use := func(stmt string, timeout time.Duration) error {
		conn, err := db.Pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Release()
		c, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		_, err = conn.Exec(c, stmt)
		return err
	}
	sent := trips.Count(func() {
		if err := use(`SELECT 2`, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := use(`SELECT pg_sleep(30)`, 100*time.Millisecond); err == nil {
			t.Fatal("a 30 s sleep ended within 100 ms without an error")
		}
		// The pool's one connection: acquired once the release's check is done.
		if err := use(`SELECT 3`, 5*time.Second); err != nil {
			t.Fatalf("the next statement on the connection: %v", err)
		}
	})
	want := []string{"SELECT 2", "SELECT pg_sleep(30)", "SELECT 1", "SELECT 3"}
	if !slices.Equal(sent, want) {
		t.Errorf("sent %q, want %q", sent, want)
	}
}
