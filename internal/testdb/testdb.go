// Package testdb gives every test its own empty, migrated PostgreSQL
// database, cloned from a template that is migrated once per schema
// version, and drops it when the test ends. Tests run in parallel against
// real Postgres.
package testdb

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/uwsportal/uwsportal/internal/devdb"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testutil"
	"github.com/uwsportal/uwsportal/migrations"
)

var (
	once      sync.Once
	serverURL string
	template  string
	setupErr  error
)

// New returns an open handle on a fresh migrated database.
func New(t testing.TB) *store.DB {
	t.Helper()
	dsn := URL(t)
	c := testutil.ClockFor(t)
	db, err := store.Open(context.Background(), dsn, store.Options{MaxConns: 10, Now: c.Now})
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(db.Close)
	testutil.BindClock(t, db, c)
	return db
}

// URL creates a fresh migrated database and returns its URL, for tests that
// start a process of their own against it.
func URL(t testing.TB) string {
	t.Helper()
	once.Do(setup)
	if setupErr != nil {
		t.Fatalf("test database server: %v", setupErr)
	}
	ctx := context.Background()
	name := "uwsportal_t_" + randomHex(6)
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		t.Fatalf("connect to test server: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, template)); err != nil {
		t.Fatalf("clone template database: %v", err)
	}
	t.Cleanup(func() { Drop(serverURL, name) })
	u, err := devdb.WithDatabase(serverURL, name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// ServerURL returns the URL of the server the test databases live on.
func ServerURL(t testing.TB) string {
	once.Do(setup)
	if setupErr != nil {
		t.Fatalf("test database server: %v", setupErr)
	}
	return serverURL
}

// Drop removes a database, ending any connection still on it.
func Drop(serverURL, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
}

func setup() {
	ctx := context.Background()
	serverURL, _, setupErr = devdb.Resolve(ctx, devdb.Options{Root: repoRoot()})
	if setupErr != nil {
		return
	}
	template = "uwsportal_tpl_" + schemaHash()
	setupErr = ensureTemplate(ctx)
}

// ensureTemplate migrates the template once; test binaries running at the
// same time wait on an advisory lock and then find it ready.
func ensureTemplate(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(7406329)"); err != nil {
		return err
	}
	defer conn.Exec(ctx, "SELECT pg_advisory_unlock(7406329)")
	var ready bool
	err = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate)", template).Scan(&ready)
	if err != nil || ready {
		return err
	}
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+template); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+template); err != nil {
		return err
	}
	u, err := devdb.WithDatabase(serverURL, template)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, u, store.Options{MaxConns: 2})
	if err != nil {
		return err
	}
	_, err = db.Migrate(ctx)
	db.Close()
	if err != nil {
		return err
	}
	_, err = conn.Exec(ctx, "ALTER DATABASE "+template+" WITH IS_TEMPLATE true")
	return err
}

// schemaHash names the template after the migrations' content, so a changed
// migration gets a new template instead of a stale one.
func schemaHash() string {
	h := sha256.New()
	_ = fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(migrations.FS, path)
		h.Write([]byte(path))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func repoRoot() string {
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// EmptyURL creates an empty database with no migrations applied.
func EmptyURL(t testing.TB) string {
	t.Helper()
	server := ServerURL(t)
	ctx := context.Background()
	name := "uwsportal_e_" + randomHex(6)
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Drop(server, name) })
	u, err := devdb.WithDatabase(server, name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
