package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/user"
	"strconv"
	"time"

	portal "github.com/uwsportal/uwsportal/internal/app"
	"github.com/uwsportal/uwsportal/internal/auditlog"
	"github.com/uwsportal/uwsportal/internal/clock"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

func (a *app) auditVerify(ctx context.Context, args []string) error {
	var asJSON, full bool
	if err := a.flags("audit verify", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print the result as JSON")
		fs.BoolVar(&full, "full", false, "walk the whole chain, not only the events since the last checkpoint")
	}); err != nil {
		return err
	}
	var res store.VerifyResult
	err := a.withCore(ctx, func(core *portal.Core, p *models.Principal) error {
		var err error
		if full {
			res, err = core.Audit.VerifyAudit(ctx, p, cliMeta())
		} else {
			res, err = core.Audit.VerifyAuditIncremental(ctx, p, cliMeta())
		}
		return err
	})
	if err != nil {
		return err
	}
	if asJSON {
		if err := json.NewEncoder(a.stdout).Encode(map[string]any{"ok": res.OK, "events": res.Events,
			"first_bad": res.FirstBad, "reason": res.Reason, "full": res.Full, "from": res.From, "checkpoint": res.Checkpoint}); err != nil {
			return err
		}
	}
	if !res.OK {
		if !asJSON {
			fmt.Fprintf(a.stdout, "BROKEN: event %d: %s (%d events read)\n", res.FirstBad, res.Reason, res.Events)
		}
		return &exitError{code: 1, err: fmt.Errorf("audit chain broken at event %d: %s", res.FirstBad, res.Reason)}
	}
	if !asJSON {
		printVerified(a.stdout, res)
	}
	return nil
}

// printVerified says what a successful verification covered.
func printVerified(w io.Writer, res store.VerifyResult) {
	if res.Full {
		fmt.Fprintf(w, "ok: %d events verified (the whole chain)\n", res.Events)
		return
	}
	fmt.Fprintf(w, "ok: %d events verified, %d to %d, from the checkpoint at event %d (--full walks the whole chain)\n",
		res.Events, res.From, res.Through, res.Checkpoint)
}

func (a *app) auditExport(ctx context.Context, args []string) error {
	var format, output string
	q := url.Values{}
	if err := a.flags("audit export", args, func(fs *flag.FlagSet) {
		fs.StringVar(&format, "format", "", "csv or ndjson (required)")
		fs.StringVar(&output, "output", "", "write to this file instead of standard output")
		for _, name := range []string{"since", "until", "actor", "department", "event", "outcome"} {
			fs.Func(name, "filter: "+name+exportHint[name], func(v string) error { q.Set(name, v); return nil })
		}
		fs.Func("text", "filter: free text", func(v string) error { q.Set("q", v); return nil })
	}); err != nil {
		return err
	}
	if format != auditlog.ExportCSV && format != auditlog.ExportNDJSON {
		return &exitError{code: 2, err: fmt.Errorf("audit export: --format csv or --format ndjson is required")}
	}
	f, err := models.ParseAuditFilter(q, time.UTC, clock.System())
	if err != nil {
		msg, _ := models.SafeMessage(err)
		return &exitError{code: 2, err: fmt.Errorf("audit export: --%s", msg)}
	}
	return a.withCore(ctx, func(core *portal.Core, p *models.Principal) error {
		return a.exportTo(ctx, core, p, f, format, output)
	})
}

var exportHint = map[string]string{"since": " (2024-01-31, 2024-01-31T09:30 UTC, or RFC 3339)", "until": " (as --since)",
	"outcome": " (success or failure)"}

func (a *app) exportTo(ctx context.Context, core *portal.Core, p *models.Principal, f models.AuditFilter, format, output string) error {
	var err error
	var out io.Writer = a.stdout
	var file *os.File
	if output != "" {
		// Create, never truncate someone's evidence by accident.
		file, err = os.OpenFile(output, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("audit export: %w", err)
		}
		out = file
	}
	buf := bufio.NewWriterSize(out, 256<<10)
	n, err := core.Audit.ExportAudit(ctx, p, cliMeta(), f, format, buf)
	if ferr := buf.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("audit export: %w", ferr)
	}
	if file != nil {
		if cerr := file.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("audit export: %w", cerr)
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "exported %d events\n", n)
	return nil
}

// withCore builds the secret-free part of the portal (these commands need
// no master key: they never touch a secret) and runs fn with it and the
// operator.
func (a *app) withCore(ctx context.Context, fn func(*portal.Core, *models.Principal) error) error {
	cfg, err := a.coreConfig(false)
	if err != nil {
		return err
	}
	core, err := portal.OpenCore(ctx, portal.Env{Getenv: a.getenv, Log: a.logger("warn"), MaxConns: 4}, cfg)
	if err != nil {
		return err
	}
	defer core.DB.Close()
	return fn(core, cliPrincipal())
}

// cliPrincipal is the operator at the command line. Whoever can run it
// holds the database already: that is the trust boundary, so the operator
// acts as an admin, audited as cli:<os user>.
func cliPrincipal() *models.Principal {
	name := ""
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if name == "" {
		// A container user without a passwd entry is still somebody.
		name = "uid" + strconv.Itoa(os.Getuid())
	}
	return &models.Principal{Actor: models.ActorCLIPrefix + name, Name: name,
		Grants: []models.Grant{{Role: models.RoleAdmin}}}
}

func cliMeta() models.RequestMeta {
	return models.RequestMeta{UserAgent: "uwsportal-cli/" + Version}
}

// auditMigrated records applied migrations; p nil is the system (serve's
// automatic migration).
func auditMigrated(ctx context.Context, db *store.DB, p *models.Principal, applied int) error {
	if applied == 0 {
		return nil
	}
	version, _, err := db.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("record migration: %w", err)
	}
	meta := models.RequestMeta{}
	if p != nil {
		meta = cliMeta()
	}
	e := models.NewEvent(models.EvMigrated, p, meta).With("applied", applied, "version", version)
	if err := db.AuditAlone(ctx, e); err != nil {
		return fmt.Errorf("record migration: %w", err)
	}
	return nil
}
