package cli

import (
	"context"
	"flag"
	"fmt"

	portal "github.com/uwsportal/uwsportal/internal/app"
	"github.com/uwsportal/uwsportal/models"
)

// callbacks registers, shows or removes the portal's CarrierService
// listener for a department's account, audited as the operator.
func (a *app) callbacks(ctx context.Context, cmd string, args []string) error {
	var dept string
	if err := a.flags("callbacks "+cmd, args, func(fs *flag.FlagSet) {
		fs.StringVar(&dept, "department", "", "department slug")
	}); err != nil {
		return err
	}
	if dept == "" {
		return usageError("callbacks %s: --department is required", cmd)
	}
	return a.withCredentials(ctx, func(pa *portal.App, p *models.Principal) error {
		switch cmd {
		case "register":
			if err := pa.Requests.Register(ctx, p, cliMeta(), dept); err != nil {
				return userError(err)
			}
			fmt.Fprintf(a.stdout, "registered %s as the CarrierService listener of %s\n", pa.Requests.CallbackURL(), dept)
		case "deregister":
			if err := pa.Requests.Deregister(ctx, p, cliMeta(), dept); err != nil {
				return userError(err)
			}
			fmt.Fprintf(a.stdout, "removed the listener of %s: outcomes are found by polling\n", dept)
		default:
			reg, err := pa.Requests.Registration(ctx, p, cliMeta(), dept, true)
			if err != nil {
				return userError(err)
			}
			fmt.Fprintf(a.stdout, "portal:\t%s\t%s\n", reg.Account, orDash(reg.URL))
			for _, l := range reg.Upstream {
				fmt.Fprintf(a.stdout, "thingspace:\t%s\t%s\t%s\n", l.AccountName, l.ServiceName, l.URL)
			}
			if reg.UpstreamErr != "" {
				return fmt.Errorf("%s", reg.UpstreamErr)
			}
		}
		return nil
	})
}

// followAccount registers the portal as the listener of a department's new
// account when callbacks are configured; a failure is said, not fatal
// (polling finds the outcomes until someone registers).
func (a *app) followAccount(ctx context.Context, pa *portal.App, p *models.Principal, slug string) {
	registered, err := pa.Requests.Follow(ctx, p, cliMeta(), slug)
	switch {
	case err != nil:
		fmt.Fprintf(a.stderr, "callback listener not registered (%s): run uwsportal callbacks register --department %s later\n", safe(err), slug)
	case registered:
		fmt.Fprintf(a.stdout, "department %s: the portal is the account's callback listener\n", slug)
	}
}
