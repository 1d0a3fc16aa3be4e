package gateway_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/gateway"
	"github.com/uwsportal/uwsportal/models"
)

// A revoked or expired client cannot be given a new secret: nothing is
// shown and no rotation is audited.
func TestRotatingARevokedClientIsRefused(t *testing.T) {
	t.Parallel()
	p := newPortal(t, gateway.Limits{})
	made := p.client(t, "fleet", models.OpList)
	if err := p.App.Gateway.Revoke(ctx, p.Admin, apptest.Meta, "fleet", made.Client.ID); err != nil {
		t.Fatal(err)
	}
	rot, err := p.App.Gateway.RotateSecret(ctx, p.Admin, apptest.Meta, "fleet", made.Client.ID, 0)
	apptest.WantKind(t, err, models.ErrConflict)
	if rot.Secret != "" {
		t.Fatal("a revoked client was given a secret")
	}
	if slices.Contains(p.Events("fleet"), models.EvAPIClientRotated) {
		t.Fatal("a refused rotation was audited as done")
	}
	if a := p.app(t, made).oauth(); a.Status != http.StatusUnauthorized {
		t.Fatalf("the revoked client: %d %.200s", a.Status, a.Body)
	}
}
