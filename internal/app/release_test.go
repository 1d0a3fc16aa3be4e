package app_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/gateway"
	"github.com/uwsportal/uwsportal/internal/notify"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// The previous release: its newest migration, the data its binary wrote
// (testdata/release-<version>.sql, made by TestWriteReleaseFixture at that
// release's commit) and the test key that data is sealed under.
const (
	previousRelease = 12
	releaseFixture  = "testdata/release-00012.sql"
	releaseKey      = "dXdzcG9ydGFsLXVwZ3JhZGUtdGVzdC1rZXktMzJieXQ="
)

func releaseKeyring(t *testing.T) *secret.Keyring {
	kr, err := secret.ParseKeys(releaseKey)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// TestWriteReleaseFixture captures what a release's binary writes, for the
// next release's upgrade test. Run it at the release's commit, with
// previousRelease set to that release's newest migration:
//
//	UWSPORTAL_WRITE_RELEASE_FIXTURE=internal/app/testdata/release-000NN.sql go test ./internal/app -run TestWriteReleaseFixture
//
// (the path relative to the repository; pg_dump must be installed).
func TestWriteReleaseFixture(t *testing.T) {
	out := os.Getenv("UWSPORTAL_WRITE_RELEASE_FIXTURE")
	if out == "" {
		t.Skip("set UWSPORTAL_WRITE_RELEASE_FIXTURE to write a release's fixture")
	}
	ctx := context.Background()
	url := testdb.EmptyURL(t)
	db := apptest.OpenDB(t, url)
	if _, err := db.MigrateTo(ctx, previousRelease); err != nil {
		t.Fatal(err)
	}
	e := apptest.New(t, apptest.Options{DB: db, Keys: releaseKeyring(t)})
	seedRelease(t, e)
	cmd := exec.Command("pg_dump", "--data-only", "--column-inserts", "--no-owner", "--no-privileges",
		"--exclude-table=goose_db_version", url)
	dump, err := cmd.Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	if err := os.WriteFile("../../"+out, []byte(replayable(string(dump))), 0o644); err != nil {
		t.Fatal(err)
	}
}

// replayable drops psql's meta-commands and turns the INSERT of a row a
// migration already made (the singletons) into an update of it.
func replayable(dump string) string {
	var b strings.Builder
	for _, line := range strings.Split(dump, "\n") {
		if strings.HasPrefix(line, `\`) {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "INSERT INTO "); ok && strings.Contains(rest, " (singleton, ") {
			cols := rest[strings.Index(rest, "(")+1 : strings.Index(rest, ")")]
			var set []string
			for _, c := range strings.Split(cols, ", ")[1:] {
				set = append(set, c+" = EXCLUDED."+c)
			}
			line = strings.TrimSuffix(line, ";") + " ON CONFLICT (singleton) DO UPDATE SET " + strings.Join(set, ", ") + ";"
		}
		b.WriteString(line + "\n")
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// seedRelease does what people did with the previous release: departments
// on both protocols, credentials, a rotation, a group mapping, an API
// client, a notification channel (each step audited).
func seedRelease(t *testing.T, e *apptest.Env) {
	ctx := context.Background()
	e.Seed("fleet", "fleet-uws", models.ProtocolREST)
	e.Seed("field-ops", "field-uws", models.ProtocolSOAP)
	if err := e.App.Departments.SetAccount(ctx, e.Admin, apptest.Meta, "fleet", "0000123456-00001"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.App.Rotation.Rotate(ctx, e.Admin, apptest.Meta, "fleet", models.TriggerManual); err != nil {
		t.Fatal(err)
	}
	if _, err := e.App.Identity.CreateMapping(ctx, e.Admin, apptest.Meta,
		models.Mapping{Group: "fleet-leads", Role: models.RoleLead, Department: "fleet"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.App.Gateway.Create(ctx, e.Admin, apptest.Meta, "fleet", gateway.CreateInput{Name: "billing sync",
		Owner: "Olive Owner <olive@example.com>", Operations: []models.Operation{models.OpList}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.App.Notify.Add(ctx, e.Admin, apptest.Meta, notify.AddInput{Kind: "webhook",
		Target: "https://siem.example.com/uwsportal"}); err != nil {
		t.Fatal(err)
	}
}

// loadRelease applies the previous release's migrations to an empty
// database, loads what its binary wrote, and returns the database's URL.
func loadRelease(t *testing.T) (string, *store.DB) {
	ctx := context.Background()
	url := testdb.EmptyURL(t)
	db := apptest.OpenDB(t, url)
	if _, err := db.MigrateTo(ctx, previousRelease); err != nil {
		t.Fatal(err)
	}
	replayFixture(t, url)
	return url, db
}

// replayFixture runs the previous release's INSERTs (each names its columns,
// as the old binary's statements do) against the database at url.
func replayFixture(t *testing.T, url string) {
	sql, err := os.ReadFile(releaseFixture)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := conn.Close(ctx); err != nil {
			t.Error(err)
		}
	}()
	// As pg_restore --disable-triggers does: the audit trail's triggers let
	// its head advance one event at a time, not jump to the restored one.
	// Columns, types, NOT NULL and CHECK constraints still apply.
	if _, err := conn.Exec(ctx, "SET session_replication_role = replica;\n"+string(sql)); err != nil {
		t.Fatalf("replay %s: %v", releaseFixture, err)
	}
}
