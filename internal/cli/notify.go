package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	portal "github.com/uwsportal/uwsportal/internal/app"
	"github.com/uwsportal/uwsportal/internal/notify"
	"github.com/uwsportal/uwsportal/models"
)

// channelJSON is a channel as --json prints it.
type channelJSON struct {
	ID                  int64    `json:"id"`
	Kind                string   `json:"kind"`
	Target              string   `json:"target"`
	Department          string   `json:"department,omitempty"`
	Events              []string `json:"events"`
	SigningSecret       string   `json:"signing_secret,omitempty"`
	ConsecutiveFailures int      `json:"consecutive_failures"`
	LastError           string   `json:"last_error,omitempty"`
	Failing             bool     `json:"failing"`
}

func channelToJSON(c notify.Channel, secret string) channelJSON {
	ev := c.Events
	if ev == nil {
		ev = []string{}
	}
	return channelJSON{ID: c.ID, Kind: string(c.Kind), Target: c.Target, Department: c.Department, Events: ev,
		SigningSecret: secret, ConsecutiveFailures: c.ConsecutiveFailures, LastError: c.LastError, Failing: c.Failing()}
}

func (a *app) notifyAdd(ctx context.Context, args []string) error {
	var in notify.AddInput
	var asJSON bool
	if err := a.flags("notify add", args, func(fs *flag.FlagSet) {
		fs.StringVar(&in.Kind, "kind", "", "webhook, slack, teams or email")
		fs.StringVar(&in.Target, "target", "", "the incoming-webhook URL, or an email address")
		fs.StringVar(&in.Department, "department", "", "only this department's events (default: portal-wide)")
		fs.StringVar(&in.Events, "events", "", "comma-separated events (default: all): "+models.NotifyEventNames())
		fs.BoolVar(&asJSON, "json", false, "JSON output")
	}); err != nil {
		return err
	}
	if in.Kind == "" || in.Target == "" {
		return usageError("notify add: --kind and --target are required")
	}
	return a.withCredentials(ctx, func(pa *portal.App, p *models.Principal) error {
		made, err := pa.Notify.Add(ctx, p, cliMeta(), in)
		if err != nil {
			return userError(err)
		}
		if asJSON {
			return json.NewEncoder(a.stdout).Encode(channelToJSON(made.Channel, made.SigningSecret))
		}
		fmt.Fprintf(a.stdout, "channel %d: %s %s, %s\n", made.Channel.ID, made.Channel.Kind, made.Channel.Target, made.Channel.EventList())
		if made.SigningSecret != "" {
			fmt.Fprintf(a.stdout, "signing_secret: %s\n", made.SigningSecret)
			fmt.Fprintln(a.stdout, "The signing secret is shown only this once: give it to the receiver, which checks X-Uwsportal-Signature with it.")
		}
		return nil
	})
}

func (a *app) notifyList(ctx context.Context, args []string) error {
	var asJSON bool
	if err := a.flags("notify list", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "JSON output")
	}); err != nil {
		return err
	}
	return a.withCredentials(ctx, func(pa *portal.App, p *models.Principal) error {
		list, err := pa.Notify.List(ctx, p)
		if err != nil {
			return userError(err)
		}
		if asJSON {
			out := []channelJSON{}
			for _, c := range list {
				out = append(out, channelToJSON(c, ""))
			}
			return json.NewEncoder(a.stdout).Encode(out)
		}
		tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tTARGET\tDEPARTMENT\tEVENTS\tSTATUS")
		for _, c := range list {
			dept := c.Department
			if dept == "" {
				dept = "(all)"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Kind, c.Target, dept, c.EventList(), channelStatus(c))
		}
		return tw.Flush()
	})
}

func channelStatus(c notify.Channel) string {
	switch {
	case c.Failing():
		return fmt.Sprintf("FAILING (%d in a row: %s)", c.ConsecutiveFailures, c.LastError)
	case c.LastSuccessAt != nil:
		return "ok, last sent " + c.LastSuccessAt.UTC().Format(time.RFC3339)
	}
	return "ok"
}

func (a *app) notifyByID(ctx context.Context, verb string, args []string) error {
	var id string
	if err := a.flags("notify "+verb, args, func(fs *flag.FlagSet) {
		fs.StringVar(&id, "id", "", "the channel's id (notify list)")
	}); err != nil {
		return err
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return usageError("notify %s: --id must be a channel id from notify list", verb)
	}
	return a.withCredentials(ctx, func(pa *portal.App, p *models.Principal) error {
		if verb == "remove" {
			if err := pa.Notify.Remove(ctx, p, cliMeta(), n); err != nil {
				return userError(err)
			}
			fmt.Fprintf(a.stdout, "removed channel %d and its pending deliveries\n", n)
			return nil
		}
		if err := pa.Notify.Test(ctx, p, cliMeta(), n); err != nil {
			return userError(err)
		}
		fmt.Fprintf(a.stdout, "channel %d accepted the test message\n", n)
		return nil
	})
}
