package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/service"
	"github.com/uwsportal/uwsportal/models"
)

const credentialUsage = `usage:
  uwsportal department create --slug S --name N [--protocol rest|soap] [--max-age 90d]
  uwsportal credential set --department S --username U [--verify]   (password from stdin)
  uwsportal credential list [--json]
  uwsportal credential test --department S
  uwsportal credential rotate --department S
  uwsportal rekey
`

func usageError(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format+"\n%s", append(args, credentialUsage)...)}
}

// credentialService opens the database and builds the service with the
// keyring and the ThingSpace backends; close releases the database.
func (a *app) credentialService(ctx context.Context) (*service.Service, func(), error) {
	cfg, err := a.config()
	if err != nil {
		return nil, nil, err
	}
	kr, err := secret.LoadKeyring(a.getenv, secret.ReadKeyFile)
	if err != nil {
		return nil, nil, err
	}
	up, err := service.UpstreamFromConfig(cfg, Version)
	if err != nil {
		return nil, nil, err
	}
	log := a.logger(cfg.LogLevel)
	db, err := a.openDB(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	svc := service.New(db, log, nil)
	svc.Keyring, svc.Upstream = kr, up
	return svc, db.Close, nil
}

func (a *app) department(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		return usageError("department: the only subcommand is create")
	}
	var slug, name, proto, maxAge string
	if err := a.flags("department create", args[1:], func(fs *flag.FlagSet) {
		fs.StringVar(&slug, "slug", "", "department slug (URL name)")
		fs.StringVar(&name, "name", "", "display name")
		fs.StringVar(&proto, "protocol", "rest", "rest or soap")
		fs.StringVar(&maxAge, "max-age", "90d", "rotate when the password is this old (days: 90d or 90)")
	}); err != nil {
		return err
	}
	days, err := parseDays(maxAge)
	if err != nil {
		return usageError("--max-age: %v", err)
	}
	return a.withCredentials(ctx, func(svc *service.Service, p *models.Principal) error {
		d, err := svc.CreateDepartment(ctx, p, cliMeta(), models.Department{Slug: slug, Name: name,
			Protocol: models.Protocol(proto), MaxAgeDays: days, ScheduleEnabled: true})
		if err != nil {
			return userError(err)
		}
		fmt.Fprintf(a.stdout, "created department %s (%s, %s, rotate every %d days)\n", d.Slug, d.Name, d.Protocol, d.MaxAgeDays)
		return nil
	})
}

// withCredentials runs fn with the credential service and the operator.
func (a *app) withCredentials(ctx context.Context, fn func(*service.Service, *models.Principal) error) error {
	p := cliPrincipal()
	svc, closeDB, err := a.credentialService(ctx)
	if err != nil {
		return err
	}
	defer closeDB()
	return fn(svc, p)
}

// parseDays reads "90d" or "90".
func parseDays(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(s), "d"))
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%q is not a number of days such as 90d", s)
	}
	return n, nil
}

func (a *app) credential(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError("credential: give a subcommand")
	}
	switch args[0] {
	case "set":
		return a.credentialSet(ctx, args[1:])
	case "list":
		return a.credentialList(ctx, args[1:])
	case "test":
		return a.credentialTest(ctx, args[1:])
	case "rotate":
		return a.credentialRotate(ctx, args[1:])
	}
	return usageError("credential: unknown subcommand %q", args[0])
}

func (a *app) credentialSet(ctx context.Context, args []string) error {
	var dept, username string
	var verify bool
	if err := a.flags("credential set", args, func(fs *flag.FlagSet) {
		fs.StringVar(&dept, "department", "", "department slug")
		fs.StringVar(&username, "username", "", "UWS username")
		fs.BoolVar(&verify, "verify", false, "log in once with the password before saving it")
	}); err != nil {
		return err
	}
	pw, err := a.readSecret("password")
	if err != nil {
		return err
	}
	return a.withCredentials(ctx, func(svc *service.Service, p *models.Principal) error {
		if err := svc.SetCredential(ctx, p, cliMeta(), dept, username, pw, verify); err != nil {
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
	return a.withCredentials(ctx, func(svc *service.Service, p *models.Principal) error {
		list, err := svc.Credentials(ctx, p)
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
	return a.withCredentials(ctx, func(svc *service.Service, p *models.Principal) error {
		res, err := svc.TestLogin(ctx, p, cliMeta(), dept)
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
	return a.withCredentials(ctx, func(svc *service.Service, p *models.Principal) error {
		res, err := svc.Rotate(ctx, p, cliMeta(), dept, models.TriggerCLI)
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
	return a.withCredentials(ctx, func(svc *service.Service, p *models.Principal) error {
		n, err := svc.Rekey(ctx, p, cliMeta())
		if err != nil {
			return userError(err)
		}
		fmt.Fprintf(a.stdout, "re-encrypted %d secret(s) under key %s\n", n, svc.Keyring.CurrentID())
		return nil
	})
}
