package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	portal "github.com/uwsportal/uwsportal/internal/app"
	"github.com/uwsportal/uwsportal/internal/clock"
	"github.com/uwsportal/uwsportal/internal/gateway"
	"github.com/uwsportal/uwsportal/models"
)

// clientJSON is a client as --json prints it.
type clientJSON struct {
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret,omitempty"`
	Department   string   `json:"department"`
	Name         string   `json:"name"`
	Owner        string   `json:"owner"`
	Operations   []string `json:"operations"`
	Status       string   `json:"status"`
	ExpiresAt    string   `json:"expires_at"`
	PrevUntil    string   `json:"old_secret_until,omitempty"`
}

func toJSON(c models.APIClient, secret string, now time.Time) clientJSON {
	out := clientJSON{ClientID: c.ID, ClientSecret: secret, Department: c.Department, Name: c.Name, Owner: c.Owner(),
		Operations: models.OpNames(c.Operations), Status: c.Status(now), ExpiresAt: c.ExpiresAt.UTC().Format(time.RFC3339)}
	if c.PrevUntil != nil {
		out.PrevUntil = c.PrevUntil.UTC().Format(time.RFC3339)
	}
	return out
}

func (a *app) printSecret(c models.APIClient, secret string, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(a.stdout).Encode(toJSON(c, secret, clock.System()))
	}
	fmt.Fprintf(a.stdout, "client_id:     %s\nclient_secret: %s\n", c.ID, secret)
	fmt.Fprintln(a.stdout, "The secret is shown only this once; the portal keeps only its hash.")
	return nil
}

func (a *app) apiClientCreate(ctx context.Context, args []string) error {
	var dept, name, owner, ops, expires string
	var asJSON bool
	if err := a.flags("api-client create", args, func(fs *flag.FlagSet) {
		fs.StringVar(&dept, "department", "", "department slug")
		fs.StringVar(&name, "name", "", "the application's name")
		fs.StringVar(&owner, "owner", "", "the accountable person: a portal user's email, or \"Name <email>\"")
		fs.StringVar(&ops, "operations", "", "comma-separated: list,suspend,restore,activate,plan,deactivate")
		fs.StringVar(&expires, "expires", "90d", "lifetime, at most 366d")
		fs.BoolVar(&asJSON, "json", false, "JSON output")
	}); err != nil {
		return err
	}
	list, err := models.ParseOperations(ops)
	if err != nil {
		return usageError("--operations: %s", safe(err))
	}
	life, err := models.ParseSpan(expires)
	if err != nil {
		return usageError("--expires: %s", safe(err))
	}
	return a.withCredentials(ctx, func(pa *portal.App, p *models.Principal) error {
		made, err := pa.Gateway.Create(ctx, p, cliMeta(), dept, gateway.CreateInput{Name: name, Owner: owner, Operations: list, Lifetime: life})
		if err != nil {
			return userError(err)
		}
		return a.printSecret(made.Client, made.Secret, asJSON)
	})
}

func (a *app) apiClientList(ctx context.Context, args []string) error {
	var dept string
	var asJSON bool
	if err := a.flags("api-client list", args, func(fs *flag.FlagSet) {
		fs.StringVar(&dept, "department", "", "department slug")
		fs.BoolVar(&asJSON, "json", false, "JSON output")
	}); err != nil {
		return err
	}
	return a.withCredentials(ctx, func(pa *portal.App, p *models.Principal) error {
		list, err := pa.Gateway.List(ctx, p, dept)
		if err != nil {
			return userError(err)
		}
		now := pa.Now()
		if asJSON {
			out := []clientJSON{}
			for _, c := range list {
				out = append(out, toJSON(c, "", now))
			}
			return json.NewEncoder(a.stdout).Encode(out)
		}
		tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CLIENT ID\tNAME\tOWNER\tOPERATIONS\tSTATUS\tEXPIRES")
		for _, c := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Name, c.Owner(), strings.Join(models.OpNames(c.Operations), ","),
				c.Status(now), c.ExpiresAt.UTC().Format("2006-01-02"))
		}
		return tw.Flush()
	})
}

func (a *app) apiClientRotate(ctx context.Context, args []string) error {
	var dept, id, overlap string
	var asJSON bool
	if err := a.flags("api-client rotate-secret", args, func(fs *flag.FlagSet) {
		fs.StringVar(&dept, "department", "", "department slug")
		fs.StringVar(&id, "client", "", "client ID")
		fs.StringVar(&overlap, "overlap", "0", "how long the old secret keeps working (at most 24h)")
		fs.BoolVar(&asJSON, "json", false, "JSON output")
	}); err != nil {
		return err
	}
	d, err := models.ParseSpan(overlap)
	if err != nil {
		return usageError("--overlap: %s", safe(err))
	}
	return a.withCredentials(ctx, func(pa *portal.App, p *models.Principal) error {
		made, err := pa.Gateway.RotateSecret(ctx, p, cliMeta(), dept, id, d)
		if err != nil {
			return userError(err)
		}
		return a.printSecret(made.Client, made.Secret, asJSON)
	})
}

func (a *app) apiClientRevoke(ctx context.Context, args []string) error {
	var dept, id string
	if err := a.flags("api-client revoke", args, func(fs *flag.FlagSet) {
		fs.StringVar(&dept, "department", "", "department slug")
		fs.StringVar(&id, "client", "", "client ID")
	}); err != nil {
		return err
	}
	return a.withCredentials(ctx, func(pa *portal.App, p *models.Principal) error {
		if err := pa.Gateway.Revoke(ctx, p, cliMeta(), dept, id); err != nil {
			return userError(err)
		}
		fmt.Fprintf(a.stdout, "revoked %s: its next call is refused\n", id)
		return nil
	})
}
