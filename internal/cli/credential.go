package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	portal "github.com/uwsportal/uwsportal/internal/app"
	"github.com/uwsportal/uwsportal/internal/departments"
	"github.com/uwsportal/uwsportal/models"
)

const credentialUsage = `usage:
  uwsportal department create --slug S --name N [--protocol rest|soap] [--max-age 90d] [--account NAME]
  uwsportal department set --slug S --account NAME
  uwsportal credential set --department S --username U [--verify [--count-reset]]   (password from stdin)
  uwsportal credential list [--json]
  uwsportal credential test --department S
  uwsportal credential rotate --department S
  uwsportal rekey
`

func usageError(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format+"\n%s", append(args, credentialUsage)...)}
}

// withCredentials builds the whole portal from the environment (the
// composition root) and runs fn with it and the operator.
func (a *app) withCredentials(ctx context.Context, fn func(*portal.App, *models.Principal) error) error {
	cfg, err := a.config()
	if err != nil {
		return err
	}
	pa, err := portal.Open(ctx, portal.Env{Getenv: a.getenv, Log: a.logger(cfg.LogLevel)}, cfg, Version)
	if err != nil {
		return err
	}
	defer pa.DB.Close()
	return fn(pa, cliPrincipal())
}

// parseDays reads "90d" or "90".
func parseDays(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(s), "d"))
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%q is not a number of days such as 90d", s)
	}
	return n, nil
}

func (a *app) credentialSet(ctx context.Context, args []string) error {
	var dept, username string
	var verify, countReset bool
	if err := a.flags("credential set", args, func(fs *flag.FlagSet) {
		fs.StringVar(&dept, "department", "", "department slug")
		fs.StringVar(&username, "username", "", "UWS username")
		fs.BoolVar(&verify, "verify", false, "log in once with the password before saving it")
		fs.BoolVar(&countReset, "count-reset", false, "state that Verizon reset the username's failed-login count (unlocked it, or the password was set in ThingSpace Manage); needs --verify. It covers the failed logins recorded from when this command starts")
	}); err != nil {
		return err
	}
	pw, err := a.readSecret("password")
	if err != nil {
		return err
	}
	return a.withCredentials(ctx, func(pa *portal.App, p *models.Principal) error {
		in := departments.CredentialInput{Department: dept, Username: username, Password: pw, Verify: verify, CountReset: countReset}
		if countReset && verify {
			// The statement covers the failures recorded from now on (the
			// page's form: from when it was opened).
			mark, err := pa.Departments.FailuresMark(ctx, p, dept, username)
			if err != nil {
				return userError(err)
			}
			in.CountResetMark = &mark
		}
		if err := pa.Departments.SetCredential(ctx, p, cliMeta(), in); err != nil {
			return userError(err)
		}
		fmt.Fprintf(a.stdout, "stored the credential of %s for %s\n", dept, username)
		return nil
	})
}

func (a *app) credentialList(ctx context.Context, args []string) error {
	var asJSON bool
	if err := a.flags("credential list", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "JSON output")
	}); err != nil {
		return err
	}
	return a.withCredentials(ctx, func(pa *portal.App, p *models.Principal) error {
		list, err := pa.Departments.Credentials(ctx, p)
		if err != nil {
			return userError(err)
		}
		if asJSON {
			enc := json.NewEncoder(a.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(list)
		}
		tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DEPARTMENT\tUSERNAME\tSTATE\tSTATUS\tAGE\tVERSION\tLAST RESULT")
		for _, c := range list {
			if !c.HasCredential {
				fmt.Fprintf(tw, "%s\t-\t-\t%s\t-\t-\t-\n", c.Department, c.Status)
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%dd\t%d\t%s\n", c.Department, c.Username, c.State, c.Status, c.AgeDays(), c.Version, orDash(c.LastResult))
		}
		return tw.Flush()
	})
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (a *app) credentialTest(ctx context.Context, args []string) error {
	var dept string
	if err := a.flags("credential test", args, func(fs *flag.FlagSet) {
		fs.StringVar(&dept, "department", "", "department slug")
	}); err != nil {
		return err
	}
	return a.withCredentials(ctx, func(pa *portal.App, p *models.Principal) error {
		res, err := pa.Departments.TestLogin(ctx, p, cliMeta(), dept)
		if err != nil {
			return userError(err)
		}
		fmt.Fprintln(a.stdout, res.Message)
		if !res.OK {
			return fmt.Errorf("test login of %s failed (%s)", dept, res.UpstreamCode)
		}
		return nil
	})
}

func (a *app) credentialRotate(ctx context.Context, args []string) error {
	var dept string
	if err := a.flags("credential rotate", args, func(fs *flag.FlagSet) {
		fs.StringVar(&dept, "department", "", "department slug")
	}); err != nil {
		return err
	}
	return a.withCredentials(ctx, func(pa *portal.App, p *models.Principal) error {
		res, err := pa.Rotation.Rotate(ctx, p, cliMeta(), dept, models.TriggerCLI)
		if err != nil {
			return userError(err)
		}
		fmt.Fprintln(a.stdout, res.Message)
		if !res.Rotated() {
			return fmt.Errorf("rotation of %s: %s (state %s)", dept, res.Result, res.State)
		}
		return nil
	})
}

func (a *app) rekey(ctx context.Context, args []string) error {
	if err := a.flags("rekey", args, func(*flag.FlagSet) {}); err != nil {
		return err
	}
	return a.withCredentials(ctx, func(pa *portal.App, p *models.Principal) error {
		n, err := pa.Departments.Rekey(ctx, p, cliMeta())
		if err != nil {
			return userError(err)
		}
		fmt.Fprintf(a.stdout, "re-encrypted %d secret(s) under key %s\n", n, pa.Keys.CurrentID())
		return nil
	})
}
