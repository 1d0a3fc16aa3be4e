package load

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	portal "github.com/uwsportal/uwsportal/internal/app"
	"github.com/uwsportal/uwsportal/internal/cli"
	"github.com/uwsportal/uwsportal/internal/config"
	"github.com/uwsportal/uwsportal/internal/departments"
	"github.com/uwsportal/uwsportal/internal/devdb"
	"github.com/uwsportal/uwsportal/internal/gateway"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// recreate drops and creates the load database, so every run starts from
// the same state.
func recreate(ctx context.Context, server, name string) (string, error) {
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return "", err
	}
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	conn.Close(ctx)
	if err != nil {
		return "", err
	}
	return devdb.EnsureDatabase(ctx, server, name)
}

// fleet is a department whose credential points at the simulator: the
// devices page reads the first one's devices, the gateway every one's.
// The gateway's load is shared by two, each with its own account: one
// department's ceiling (at most gateway.MaxCeiling calls per second, which
// a gateway on a fast machine passed at 200 connections) is not what the
// load measures.
type fleet struct {
	slug, account, user string
	password            secret.Secret
}

// newFleet is fleet n (1: "fleet", its account ending 00001).
func newFleet(n int) fleet {
	slug := "fleet"
	if n > 1 {
		slug += strconv.Itoa(n)
	}
	user := slug + "_mycompanyUWS"
	return fleet{slug: slug, account: fmt.Sprintf("0000123456-%05d", n), user: user,
		password: secret.Secret(models.GeneratePassword("Fleet", user))}
}

// clientFleet is the fleet of API client i: each gateway connection's
// appsPerConn clients are of one fleet, the connections' in turn.
func clientFleet(fleets []fleet, i int) fleet { return fleets[(i/appsPerConn)%len(fleets)] }

// seedInput is what seed writes beside the audit trail.
type seedInput struct {
	events        int
	adminPassword string
	fleets        []fleet
	clients       int // API clients allowed to list devices, shared by the fleets (clientFleet)
}

// seed migrates, appends the audit trail (which must start empty), creates
// the departments with credentials and the API clients through the
// service layer and the break-glass admin through the command line, as an
// operator would. It returns the clients with their secrets.
func seed(ctx context.Context, getenv func(string) string, in seedInput) ([]gateway.Created, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, err
	}
	pa, err := portal.Open(ctx, portal.Env{Getenv: getenv, Log: slog.New(slog.DiscardHandler), MaxConns: 4}, cfg, "load")
	if err != nil {
		return nil, err
	}
	defer pa.DB.Close()
	if _, err := pa.DB.Migrate(ctx); err != nil {
		return nil, err
	}
	if err := testdb.SeedAudit(ctx, pa.DB, in.events); err != nil {
		return nil, err
	}
	admin := &models.Principal{Actor: "cli:bench", Name: "Load Setup", Grants: []models.Grant{{Role: models.RoleAdmin}}}
	for i := range seedDepartments {
		user := fmt.Sprintf("dept%02d_mycompanyUWS", i)
		pw := secret.Secret(models.GeneratePassword("Seed", user))
		d := models.Department{Slug: fmt.Sprintf("dept%02d", i), Name: fmt.Sprintf("Department %02d", i), Protocol: models.ProtocolREST, MaxAgeDays: 90, ScheduleEnabled: true}
		if err := department(ctx, pa, admin, d, user, pw); err != nil {
			return nil, err
		}
	}
	for i, f := range in.fleets {
		d := models.Department{Slug: f.slug, Name: fmt.Sprintf("Fleet %d", i+1), Protocol: models.ProtocolREST, MaxAgeDays: 90, AccountName: f.account}
		if err := department(ctx, pa, admin, d, f.user, f.password); err != nil {
			return nil, err
		}
		// The highest ceiling an admin may set: the load measures the
		// portal, not the department's protection of ThingSpace.
		if err := pa.Gateway.SetCeiling(ctx, admin, models.RequestMeta{}, f.slug, gateway.MaxCeiling); err != nil {
			return nil, err
		}
	}
	clients := make([]gateway.Created, in.clients)
	for i := range clients {
		slug := clientFleet(in.fleets, i).slug
		if clients[i], err = pa.Gateway.Create(ctx, admin, models.RequestMeta{}, slug, gateway.CreateInput{Name: fmt.Sprintf("load app %03d", i),
			Owner: "Load Owner <load@example.com>", Operations: []models.Operation{models.OpList}}); err != nil {
			return nil, fmt.Errorf("API client: %w", err)
		}
	}
	var out bytes.Buffer
	err = cli.Run(ctx, []string{"uwsportal", "create-admin", "--username", adminUser}, getenv,
		cli.Stdio{In: strings.NewReader(in.adminPassword + "\n"), Out: &out, Err: &out})
	if err != nil {
		return nil, fmt.Errorf("create-admin: %w: %s", err, out.String())
	}
	return clients, nil
}

// department creates d and sets its credential.
func department(ctx context.Context, pa *portal.App, admin *models.Principal, d models.Department, user string, pw secret.Secret) error {
	if _, err := pa.Departments.CreateDepartment(ctx, admin, models.RequestMeta{}, d); err != nil {
		return err
	}
	return pa.Departments.SetCredential(ctx, admin, models.RequestMeta{},
		departments.CredentialInput{Department: d.Slug, Username: user, Password: pw})
}
