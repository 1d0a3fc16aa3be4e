package store_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/internal/testutil"
)

// Once an instance has appended store.CleanEvery events, the free-text
// index's pending list is merged in the background, so no append has to
// merge a full list itself: after the merge, nothing those appends left
// is pending.
func TestTheTextIndexPendingListIsMergedInTheBackground(t *testing.T) {
	t.Parallel()
	db, _ := openTraced(t, testdb.URL(t))
	appendN(t, db, store.CleanEvery)
	deadline := time.Now().Add(5 * time.Second)
	for db.TextIndexMerges() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no merge after %d appends", store.CleanEvery)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var pages int64
	if err := db.Pool.QueryRow(context.Background(), "SELECT gin_clean_pending_list('audit_events_text_idx'::regclass)").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if pages != 0 {
		t.Fatalf("%d pages still pending after the background merge", pages)
	}
}

// A database user that does not own the free-text index cannot merge its
// pending list: the cleaner says so once, in the log, and stops asking;
// the appends go on as Postgres's default has them.
func TestTheCleanerStopsWhereTheUserDoesNotOwnTheIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	owner := testdb.URL(t)
	admin, err := pgx.Connect(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // after the role is dropped
		if err := admin.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	role, pw := fmt.Sprintf("uwsportal_t_user_%x", rand.Uint64()), fmt.Sprintf("pw-%x", rand.Uint64())
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", role, pw)); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "42501" {
			t.Skipf("the test server's user may not create a role (it needs CREATEROLE): %v", err)
		}
		t.Fatal(err)
	}
	for _, q := range []string{
		"GRANT ALL ON ALL TABLES IN SCHEMA public TO " + role,
		"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO " + role,
	} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		for _, q := range []string{"DROP OWNED BY " + role, "DROP ROLE " + role} {
			if _, err := admin.Exec(context.Background(), q); err != nil {
				t.Errorf("%s: %v", q, err)
			}
		}
	})
	u, err := url.Parse(owner)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(role, pw)
	logs := &testutil.Buffer{}
	db, err := store.Open(ctx, u.String(), store.Options{MaxConns: 4, Log: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, db, store.CleanEvery)
	const said = "this database user does not own it"
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), said) {
		if time.Now().After(deadline) {
			t.Fatalf("no word of the refused merge after %d appends; log:\n%s", store.CleanEvery, logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !db.TextCleanerOff() {
		t.Fatal("the cleaner said it stops, yet is still on")
	}
	appendN(t, db, store.CleanEvery) // would ask again, were the cleaner not off
	if res := verify(t, db); !res.OK || res.Events != 2*store.CleanEvery {
		t.Fatalf("%+v", res)
	}
	db.Close()
	if n := strings.Count(logs.String(), "level="); n != 1 || db.TextIndexMerges() != 0 {
		t.Fatalf("%d log lines and %d merges, want the one line and none:\n%s", n, db.TextIndexMerges(), logs)
	}
}
