package cli

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/migrations"
)

func TestMigrateStatusAndASchemaTooNew(t *testing.T) {
	t.Parallel()
	dsn := testdb.EmptyURL(t)
	run := cliRunner(t, map[string]string{"DATABASE_URL": dsn, "UWSPORTAL_MASTER_KEY": secret.GenerateKey(),
		"UWSPORTAL_ADDR": "127.0.0.1:0"})
	out, err := run("", "migrate", "status")
	if err != nil || !regexp.MustCompile(`00001\s+pending`).MatchString(out) || !strings.Contains(out, "run uwsportal migrate") {
		t.Fatalf("before migrating: %v\n%s", err, out)
	}
	if _, err := run("", "migrate"); err != nil {
		t.Fatal(err)
	}
	out, err = run("", "migrate", "status", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Ready      bool
		Migrations []struct {
			Version int64
			State   string
		}
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	last := st.Migrations[len(st.Migrations)-1]
	if !st.Ready || last.Version != migrations.Latest() || last.State != "applied" {
		t.Fatalf("after migrating: %s", out)
	}
	// A release from another series migrated the database: this binary says
	// so, and refuses to serve it.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := conn.Close(ctx); err != nil {
			t.Error(err)
		}
	}()
	if _, err := conn.Exec(ctx, "INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)", migrations.MaxSchema+1); err != nil {
		t.Fatal(err)
	}
	out, err = run("", "migrate", "status")
	if ExitCode(err) != 1 || !strings.Contains(out, "(a newer release's)") || !strings.Contains(err.Error(), "understands versions") {
		t.Fatalf("a schema too new: %v\n%s", err, out)
	}
	if _, err := run("", "serve"); err == nil || !strings.Contains(err.Error(), "run a newer uwsportal release") {
		t.Fatalf("serve on a schema too new: %v", err)
	}
}
