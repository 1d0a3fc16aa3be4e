package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/uwsportal/uwsportal/internal/store"
)

func (a *app) migrate(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "status" {
		return a.migrateStatus(ctx, args[1:])
	}
	if len(args) > 0 {
		return &exitError{code: 2, err: fmt.Errorf("migrate takes no arguments (or: migrate status [--json])")}
	}
	cfg, err := a.coreConfig(true)
	if err != nil {
		return err
	}
	db, err := a.openDB(ctx, cfg, a.logger("info"))
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	p := cliPrincipal()
	if err := auditMigrated(ctx, db, p, n); err != nil {
		return err
	}
	cur, _, _ := db.SchemaVersion(ctx)
	fmt.Fprintf(a.stdout, "applied %d migration(s); schema at version %d\n", n, cur)
	return nil
}

// migrateStatus lists applied and pending migrations, and whether this
// binary runs against the schema (exit 1 when it does not understand it).
func (a *app) migrateStatus(ctx context.Context, args []string) error {
	var asJSON bool
	if err := a.flags("migrate status", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print JSON")
	}); err != nil {
		return err
	}
	cfg, err := a.coreConfig(false)
	if err != nil {
		return err
	}
	db, err := a.openDB(ctx, cfg, a.logger("warn"))
	if err != nil {
		return err
	}
	defer db.Close()
	list, err := db.Migrations(ctx)
	if err != nil {
		return err
	}
	sch, err := db.Schema(ctx)
	if err != nil {
		return err
	}
	verdict := sch.Ready()
	if asJSON {
		out := map[string]any{"schema": sch, "migrations": list, "ready": verdict == nil}
		if verdict != nil {
			out["problem"] = verdict.Error()
		}
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VERSION\tSTATE\tAPPLIED\tFILE")
		for _, m := range list {
			at, name := "-", m.Name
			if m.AppliedAt != nil {
				at = m.AppliedAt.UTC().Format(time.RFC3339)
			}
			if name == "" {
				name = "(a newer release's)"
			}
			fmt.Fprintf(tw, "%05d\t%s\t%s\t%s\n", m.Version, m.State, at, name)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "schema at %d; this binary needs %d and runs against up to %d", sch.Current, sch.Needs, sch.Max)
		if sch.MinBinary > 0 {
			fmt.Fprintf(a.stdout, "; the schema needs a binary that knows %d", sch.MinBinary)
		}
		fmt.Fprintln(a.stdout)
		if errors.Is(verdict, store.ErrSchemaBehind) {
			fmt.Fprintln(a.stdout, verdict.Error())
		}
	}
	if verdict != nil && !errors.Is(verdict, store.ErrSchemaBehind) {
		return &exitError{code: 1, err: verdict}
	}
	return nil
}
