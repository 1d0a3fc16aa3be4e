package app_test

import (
	"context"
	"io/fs"
	"testing"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/migrations"
	"github.com/uwsportal/uwsportal/models"
)

// The previous release's database, migrated by this release, keeps every
// use case working on the data the old binary wrote; and the old binary's
// own statements keep working on the new schema (expand-only migrations,
// README "Upgrades").
func TestUpgradeFromThePreviousRelease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := loadRelease(t)
	before := columns(t, db)
	n, err := db.Migrate(ctx)
	if err != nil {
		t.Fatalf("this release's migrations on the previous release's data: %v", err)
	}
	if want := countAfter(t, previousRelease); n != want {
		t.Fatalf("applied %d migrations, want %d", n, want)
	}
	expandOnly(t, before, columns(t, db))
	sch, err := db.Schema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	old := sch
	old.Needs = previousRelease // the previous binary's view of the same schema
	if sch.Ready() != nil || old.Understood() != nil {
		t.Fatalf("schema %+v: this binary %v, the previous one %v", sch, sch.Ready(), old.Understood())
	}
	exerciseOldData(t, apptest.New(t, apptest.Options{DB: db, Keys: releaseKeyring(t)}))
}

// The previous release's INSERTs, which name their columns as its binary
// does, are accepted by the new schema.
func TestPreviousReleaseWritesOnTheNewSchema(t *testing.T) {
	t.Parallel()
	replayFixture(t, testdb.URL(t))
}

// exerciseOldData runs this release's use cases on what the previous one
// wrote: decrypt, test, rotate, list, verify the audit chain.
func exerciseOldData(t *testing.T, e *apptest.Env) {
	ctx := context.Background()
	for slug, user := range map[string]string{"fleet": "fleet-uws", "field-ops": "field-uws"} {
		e.Sim.SetUser(user, e.Stored(slug)) // the old rows open with the old key
		res, err := e.App.Departments.TestLogin(ctx, e.Admin, apptest.Meta, slug)
		if err != nil || !res.OK {
			t.Fatalf("test login %s: %+v %v", slug, res, err)
		}
	}
	if r, err := e.App.Rotation.Rotate(ctx, e.Admin, apptest.Meta, "fleet", models.TriggerManual); err != nil || r.Result != models.RunRotated {
		t.Fatalf("rotate: %+v %v", r, err)
	}
	creds, err := e.App.Departments.Credentials(ctx, e.Admin)
	if err != nil || len(creds) != 2 {
		t.Fatalf("credentials: %d %v", len(creds), err)
	}
	chans, err := e.App.Notify.List(ctx, e.Admin)
	if err != nil || len(chans) != 1 || chans[0].Target == "" {
		t.Fatalf("notification channels: %+v %v", chans, err)
	}
	clients, err := e.App.Gateway.List(ctx, e.Admin, "fleet")
	if err != nil || len(clients) != 1 {
		t.Fatalf("API clients: %+v %v", clients, err)
	}
	v, err := e.App.Audit.VerifyAudit(ctx, e.Admin, apptest.Meta)
	if err != nil || !v.OK || v.Events < 14 {
		t.Fatalf("audit chain across the upgrade: %+v %v", v, err)
	}
}

type column struct{ table, name string }

type columnInfo struct {
	dataType   string
	nullable   bool
	hasDefault bool
}

func columns(t *testing.T, db *store.DB) map[column]columnInfo {
	rows, err := db.Pool.Query(context.Background(), `SELECT table_name, column_name, data_type, is_nullable = 'YES',
		column_default IS NOT NULL OR is_identity = 'YES' OR is_generated = 'ALWAYS'
		FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'goose_db_version'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[column]columnInfo{}
	for rows.Next() {
		var c column
		var i columnInfo
		if err := rows.Scan(&c.table, &c.name, &i.dataType, &i.nullable, &i.hasDefault); err != nil {
			t.Fatal(err)
		}
		out[c] = i
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// expandOnly fails for a change that breaks the previous binary: a table
// or column it uses dropped, renamed or retyped, or a column it does not
// know that its INSERTs cannot leave out.
func expandOnly(t *testing.T, before, after map[column]columnInfo) {
	tables := map[string]bool{}
	for c, b := range before {
		tables[c.table] = true
		a, ok := after[c]
		switch {
		case !ok:
			t.Errorf("%s.%s: dropped or renamed, but the previous release uses it (a contract step: README, Upgrades)", c.table, c.name)
		case a.dataType != b.dataType:
			t.Errorf("%s.%s: type changed from %s to %s under the previous release", c.table, c.name, b.dataType, a.dataType)
		case b.nullable && !a.nullable:
			t.Errorf("%s.%s: became NOT NULL, which the previous release may not fill", c.table, c.name)
		}
	}
	for c, a := range after {
		if _, old := before[c]; !old && tables[c.table] && !a.nullable && !a.hasDefault {
			t.Errorf("%s.%s: new NOT NULL column without a default: the previous release's INSERTs fail", c.table, c.name)
		}
	}
}

func countAfter(t *testing.T, version int64) int {
	entries, err := fs.ReadDir(migrations.FS, ".")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if migrations.Version(e.Name()) > version {
			n++
		}
	}
	return n
}
