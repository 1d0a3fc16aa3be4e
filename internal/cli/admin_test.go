package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/testdb"
)

func cliRunner(t *testing.T, env map[string]string) func(stdin string, args ...string) (string, error) {
	return func(stdin string, args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := Run(context.Background(), append([]string{"uwsportal"}, args...), func(k string) string { return env[k] },
			Stdio{In: strings.NewReader(stdin), Out: &out, Err: &errOut})
		return out.String(), err
	}
}

func TestAdminAndAuditCommands(t *testing.T) {
	t.Parallel()
	dsn := testdb.URL(t)
	run := cliRunner(t, map[string]string{"DATABASE_URL": dsn, "UWSPORTAL_MASTER_KEY": secret.GenerateKey()})
	if _, err := run("", "create-admin", "--username", "bg", "S3cret-On-The-Command-Line!"); ExitCode(err) != 2 {
		t.Fatalf("a password argument was accepted: %v", err)
	}
	if out, err := run("short\n", "create-admin", "--username", "bg"); err == nil || !strings.Contains(out+err.Error(), "12 characters") {
		t.Fatalf("weak break-glass password: %v", err)
	}
	if _, err := run("Br3ak-Gl4ss!Cli#2026\n", "create-admin", "--username", "bg"); err != nil {
		t.Fatal(err)
	}
	if _, err := run("", "department", "create", "--slug", "fleet", "--name", "Fleet"); err != nil {
		t.Fatal(err)
	}
	if _, err := run("", "map-group", "--group", "fleet-leads", "--role", "lead"); err == nil {
		t.Fatal("a lead mapping without a department was accepted")
	}
	if _, err := run("", "map-group", "--group", "fleet-leads", "--role", "lead", "--department", "fleet"); err != nil {
		t.Fatal(err)
	}
	if out, err := run("", "audit", "verify"); err != nil || !strings.Contains(out, "ok") {
		t.Fatalf("verify: %q %v", out, err)
	}
	out, err := run("", "audit", "export", "--format", "csv", "--event", "mapping")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != 2 || rows[1][2] != "mapping.created" || !strings.HasPrefix(rows[1][3], "cli:") {
		t.Fatalf("export: %v %q", err, out)
	}
	// A superuser edits a row: the full verify names it and exits 1.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{"ALTER TABLE audit_events DISABLE TRIGGER USER", "UPDATE audit_events SET actor = 'someone' WHERE id = 2", "ALTER TABLE audit_events ENABLE TRIGGER USER"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	// The edit lies before the checkpoint the first verification left:
	// only the full walk reaches it.
	out, err = run("", "audit", "verify")
	if err != nil || !strings.Contains(out, "from the checkpoint") {
		t.Fatalf("incremental verify: %q %v", out, err)
	}
	out, err = run("", "audit", "verify", "--full")
	if ExitCode(err) != 1 || !strings.Contains(out+err.Error(), "event 2:") {
		t.Fatalf("verify after tampering: exit %d %q %v", ExitCode(err), out, err)
	}
}
