package cli

import (
	"context"
	"flag"
	"fmt"

	portal "github.com/uwsportal/uwsportal/internal/app"
	"github.com/uwsportal/uwsportal/models"
)

func (a *app) department(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError("department: give a subcommand (create or set)")
	}
	switch args[0] {
	case "create":
		return a.departmentCreate(ctx, args[1:])
	case "set":
		return a.departmentSet(ctx, args[1:])
	}
	return usageError("department: unknown subcommand %q", args[0])
}

func (a *app) departmentCreate(ctx context.Context, args []string) error {
	var slug, name, proto, maxAge, account string
	if err := a.flags("department create", args, func(fs *flag.FlagSet) {
		fs.StringVar(&slug, "slug", "", "department slug (URL name)")
		fs.StringVar(&name, "name", "", "display name")
		fs.StringVar(&proto, "protocol", "rest", "rest or soap")
		fs.StringVar(&maxAge, "max-age", "90d", "rotate when the password is this old (days: 90d or 90)")
		fs.StringVar(&account, "account", "", "ThingSpace account name (0000123456-00001), for device operations")
	}); err != nil {
		return err
	}
	days, err := parseDays(maxAge)
	if err != nil {
		return usageError("--max-age: %v", err)
	}
	return a.withCredentials(ctx, func(pa *portal.App, p *models.Principal) error {
		d, err := pa.Departments.CreateDepartment(ctx, p, cliMeta(), models.Department{Slug: slug, Name: name,
			Protocol: models.Protocol(proto), MaxAgeDays: days, ScheduleEnabled: true, AccountName: account})
		if err != nil {
			return userError(err)
		}
		fmt.Fprintf(a.stdout, "created department %s (%s, %s, rotate every %d days)\n", d.Slug, d.Name, d.Protocol, d.MaxAgeDays)
		return nil
	})
}

// departmentSet changes a department's ThingSpace account name (and
// nothing else).
func (a *app) departmentSet(ctx context.Context, args []string) error {
	var slug, account string
	if err := a.flags("department set", args, func(fs *flag.FlagSet) {
		fs.StringVar(&slug, "slug", "", "department slug")
		fs.StringVar(&account, "account", "", "ThingSpace account name (0000123456-00001)")
	}); err != nil {
		return err
	}
	if slug == "" || account == "" {
		return usageError("department set: --slug and --account are required")
	}
	return a.withCredentials(ctx, func(pa *portal.App, p *models.Principal) error {
		if err := pa.Departments.SetAccount(ctx, p, cliMeta(), slug, account); err != nil {
			return userError(err)
		}
		fmt.Fprintf(a.stdout, "department %s: ThingSpace account %s\n", slug, account)
		return nil
	})
}
