package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	portal "github.com/uwsportal/uwsportal/internal/app"
	"github.com/uwsportal/uwsportal/internal/devices"
	"github.com/uwsportal/uwsportal/models"
)

func (a *app) devicesList(ctx context.Context, args []string) error {
	var dept, q, state string
	var asJSON bool
	if err := a.flags("devices list", args, func(fs *flag.FlagSet) {
		fs.StringVar(&dept, "department", "", "department slug")
		fs.StringVar(&q, "q", "", "an MDN, ICCID or IMEI")
		fs.StringVar(&state, "state", "", "active, suspended, deactive or preactive")
		fs.BoolVar(&asJSON, "json", false, "JSON output")
	}); err != nil {
		return err
	}
	return a.withCredentials(ctx, func(pa *portal.App, p *models.Principal) error {
		var all []models.Device
		query := devices.Query{Q: q, State: state}
		for {
			page, err := pa.Devices.List(ctx, p, cliMeta(), dept, query)
			if err != nil {
				return userError(err)
			}
			all = append(all, page.Devices...)
			if page.Next == 0 {
				break
			}
			query.After = page.Next
		}
		if asJSON {
			enc := json.NewEncoder(a.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(all)
		}
		tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "MDN\tICCID\tIMEI\tSTATE\tPLAN\tLAST CONNECTION")
		for _, d := range all {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", orDash(d.ID("mdn")), orDash(d.ID("iccid")), orDash(d.ID("imei")),
				orDash(d.State), orDash(d.ServicePlan), orDash(d.LastConnection))
		}
		return tw.Flush()
	})
}

// deviceFlags collects repeated --device flags.
type deviceFlags []string

func (d *deviceFlags) String() string     { return strings.Join(*d, ",") }
func (d *deviceFlags) Set(v string) error { *d = append(*d, v); return nil }

func (a *app) devicesAct(ctx context.Context, op models.Operation, args []string) error {
	var dept string
	var ids deviceFlags
	act := devices.Action{Op: op}
	if err := a.flags("devices "+string(op), args, func(fs *flag.FlagSet) {
		fs.StringVar(&dept, "department", "", "department slug")
		fs.Var(&ids, "device", "an MDN, ICCID or IMEI (repeat for several)")
		fs.StringVar(&act.ServicePlan, "plan", "", "service plan (activate, plan)")
		fs.StringVar(&act.ZIP, "zip", "", "ZIP code of the number (activate)")
		fs.StringVar(&act.ReasonCode, "reason", "", "reason code (deactivate)")
		fs.BoolVar(&act.ETFWaiver, "etf-waiver", false, "ask for the early termination fee to be waived (deactivate)")
		fs.StringVar(&act.Confirm, "confirm", "", "the device's MDN or ICCID, typed again (deactivate)")
	}); err != nil {
		return err
	}
	list, err := models.ParseDeviceList(strings.Join(ids, "\n"))
	if err != nil {
		return usageError("--device: %s", safe(err))
	}
	act.Devices = list
	return a.withCredentials(ctx, func(pa *portal.App, p *models.Principal) error {
		results, err := pa.Devices.Act(ctx, p, cliMeta(), dept, act)
		if err != nil {
			return userError(err)
		}
		failed := 0
		for _, r := range results {
			fmt.Fprintf(a.stdout, "%s:%s\t%s\t%s\t%s\n", r.Device.Kind, r.Device.ID, r.Outcome, orDash(r.RequestID), r.Message)
			if r.Request != 0 {
				fmt.Fprintf(a.stdout, "\tfollowed as device request %d: see the department's Requests page for how it ends\n", r.Request)
			}
			if r.Outcome != devices.Accepted {
				failed++
			}
		}
		if failed > 0 {
			return fmt.Errorf("%d of %d device(s) not accepted", failed, len(results))
		}
		return nil
	})
}

func safe(err error) string {
	if msg, ok := models.SafeMessage(err); ok {
		return msg
	}
	return err.Error()
}
