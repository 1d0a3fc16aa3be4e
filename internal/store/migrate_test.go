package store_test

import (
	"context"
	"io/fs"
	"strings"
	"sync"
	"testing"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/migrations"
)

func TestMigrateTwiceAppliesNothingTheSecondTime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := store.Open(ctx, testdb.EmptyURL(t), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n, err := db.Migrate(ctx)
	if err != nil || n == 0 {
		t.Fatalf("first: %d %v", n, err)
	}
	n, err = db.Migrate(ctx)
	if err != nil || n != 0 {
		t.Fatalf("second: %d %v", n, err)
	}
	cur, latest, err := db.SchemaVersion(ctx)
	if err != nil || cur != latest {
		t.Fatalf("schema %d/%d %v", cur, latest, err)
	}
}

// Two processes starting at once take turns on the advisory lock.
func TestConcurrentMigrationsDoNotCorrupt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.EmptyURL(t)
	var wg sync.WaitGroup
	counts := make([]int, 4)
	errs := make([]error, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := store.Open(ctx, url, store.Options{MaxConns: 2})
			if err != nil {
				errs[i] = err
				return
			}
			defer db.Close()
			counts[i], errs[i] = db.Migrate(ctx)
		}()
	}
	wg.Wait()
	total := 0
	for i := range 4 {
		if errs[i] != nil {
			t.Fatalf("migrator %d: %v", i, errs[i])
		}
		total += counts[i]
	}
	db, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cur, latest, err := db.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if cur != latest || total != len(files) {
		t.Fatalf("applied %d in total; schema %d of %d", total, cur, latest)
	}
}

func TestConnectErrorNamesHostAndDatabaseButNotPassword(t *testing.T) {
	t.Parallel()
	_, err := store.Open(context.Background(), "postgres://app:hunter2-secret@127.0.0.1:1/appdb?sslmode=disable&connect_timeout=2", store.Options{})
	if err == nil {
		t.Fatal("expected an error")
	}
	msg := err.Error()
	if strings.Contains(msg, "hunter2-secret") || !strings.Contains(msg, "127.0.0.1:1") || !strings.Contains(msg, "appdb") || strings.Contains(msg, "\n") {
		t.Fatalf("bad message: %q", msg)
	}
	if !store.IsUnavailable(err) {
		t.Fatalf("not classified unavailable: %v", err)
	}
}
