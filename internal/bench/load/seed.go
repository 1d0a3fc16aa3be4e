package load

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5"

	portal "github.com/uwsportal/uwsportal/internal/app"
	"github.com/uwsportal/uwsportal/internal/cli"
	"github.com/uwsportal/uwsportal/internal/config"
	"github.com/uwsportal/uwsportal/internal/departments"
	"github.com/uwsportal/uwsportal/internal/devdb"
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

// seed migrates, appends the audit trail (which must start empty), creates
// the departments with credentials through the service layer and the
// break-glass admin through the command line, as an operator would.
func seed(ctx context.Context, getenv func(string) string, events int, password string) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	pa, err := portal.Open(ctx, portal.Env{Getenv: getenv, Log: slog.New(slog.DiscardHandler), MaxConns: 4}, cfg, "load")
	if err != nil {
		return err
	}
	defer pa.DB.Close()
	if _, err := pa.DB.Migrate(ctx); err != nil {
		return err
	}
	if err := testdb.SeedAudit(ctx, pa.DB, events); err != nil {
		return err
	}
	admin := &models.Principal{Actor: "cli:bench", Name: "Load Setup", Grants: []models.Grant{{Role: models.RoleAdmin}}}
	for i := range seedDepartments {
		slug := fmt.Sprintf("dept%02d", i)
		d := models.Department{Slug: slug, Name: fmt.Sprintf("Department %02d", i), Protocol: models.ProtocolREST, MaxAgeDays: 90, ScheduleEnabled: true}
		if _, err := pa.Departments.CreateDepartment(ctx, admin, models.RequestMeta{}, d); err != nil {
			return err
		}
		pw := secret.Secret("Seed-" + strings.ToUpper(secret.GenerateKey()[:6]) + "-" + secret.GenerateKey()[:10] + "!q")
		if err := pa.Departments.SetCredential(ctx, admin, models.RequestMeta{},
			departments.CredentialInput{Department: slug, Username: fmt.Sprintf("dept%02d_mycompanyUWS", i), Password: pw}); err != nil {
			return err
		}
	}
	var out bytes.Buffer
	err = cli.Run(ctx, []string{"uwsportal", "create-admin", "--username", adminUser}, getenv,
		cli.Stdio{In: strings.NewReader(password + "\n"), Out: &out, Err: &out})
	if err != nil {
		return fmt.Errorf("create-admin: %w: %s", err, out.String())
	}
	return nil
}
