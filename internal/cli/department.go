package cli

import (
	"context"
	"flag"
	"fmt"

	portal "github.com/uwsportal/uwsportal/internal/app"
	"github.com/uwsportal/uwsportal/models"
)

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

// departmentSet changes a department's ThingSpace account name and which
// actions need a second person's approval (and nothing else).
func (a *app) departmentSet(ctx context.Context, args []string) error {
	var slug, account string
	approve := map[models.ApprovalAction]*string{}
	if err := a.flags("department set", args, func(fs *flag.FlagSet) {
		fs.StringVar(&slug, "slug", "", "department slug")
		fs.StringVar(&account, "account", "", "ThingSpace account name (0000123456-00001)")
		for _, act := range models.ApprovalActions {
			approve[act] = fs.String("approve-"+string(act), "", "on or off: people need a second person's approval to "+string(act))
		}
	}); err != nil {
		return err
	}
	rules, changed, err := approvalFlags(approve)
	if err != nil {
		return err
	}
	if slug == "" || (account == "" && !changed) {
		return usageError("department set: --slug and --account or an --approve-* flag are required")
	}
	return a.withCredentials(ctx, func(pa *portal.App, p *models.Principal) error {
		if account != "" {
			if err := pa.Departments.SetAccount(ctx, p, cliMeta(), slug, account); err != nil {
				return userError(err)
			}
			fmt.Fprintf(a.stdout, "department %s: ThingSpace account %s\n", slug, account)
			a.followAccount(ctx, pa, p, slug)
		}
		if !changed {
			return nil
		}
		dv, err := pa.Departments.DepartmentView(ctx, p, slug)
		if err != nil {
			return userError(err)
		}
		next := rules(dv.Department.Approvals)
		if err := pa.Departments.SetApprovals(ctx, p, cliMeta(), slug, next); err != nil {
			return userError(err)
		}
		fmt.Fprintf(a.stdout, "department %s: approval required to reveal %s, deactivate %s, rotate now %s\n", slug,
			onOff(next.Reveal), onOff(next.Deactivate), onOff(next.Rotate))
		return nil
	})
}

// approvalFlags reads the --approve-* flags: a function applying the ones
// given to the current rules, and whether any was given.
func approvalFlags(flags map[models.ApprovalAction]*string) (func(models.ApprovalRules) models.ApprovalRules, bool, error) {
	set := map[models.ApprovalAction]bool{}
	for act, v := range flags {
		switch *v {
		case "":
		case "on":
			set[act] = true
		case "off":
			set[act] = false
		default:
			return nil, false, usageError("--approve-%s: give on or off, not %q", act, *v)
		}
	}
	apply := func(r models.ApprovalRules) models.ApprovalRules {
		for act, on := range set {
			r.Set(act, on)
		}
		return r
	}
	return apply, len(set) > 0, nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
