package upstream_test

import (
	"context"
	"testing"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/upstream"
	"github.com/uwsportal/uwsportal/models"
)

// A session read ahead by the caller (WithSessionRead) is used once; when
// it turns out stale (another login replaced it since), the client reads
// the cache again and uses the newer session: no login is made.
func TestSessionReadAheadNeverCostsALogin(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{})
	e.Seed("fleet", "fleet_uws", models.ProtocolREST)
	e.Sim.SeedDevices("0000123456-00001", 3, 1)
	ctx := context.Background()
	who := upstream.Who{P: e.Admin, Purpose: upstream.PurposeUse, Department: "fleet", Protocol: models.ProtocolREST}
	ctx = upstream.WithWho(ctx, who)
	c, err := e.App.Upstream.Client(models.ProtocolREST)
	if err != nil {
		t.Fatal(err)
	}
	cred := e.CredOf("fleet")
	list := func(ctx context.Context) {
		t.Helper()
		ans, err := c.Forward(ctx, cred, "POST", "/api/m2m/v1/devices/actions/list", []byte(`{"accountName":"0000123456-00001"}`))
		if err != nil || ans.Status >= 300 {
			t.Fatalf("list: %d %s %v", ans.Status, ans.Body, err)
		}
	}
	list(ctx) // the first login
	old, ok, err := e.DB.Session(ctx, nil, cred.Key, false)
	if err != nil || !ok {
		t.Fatalf("no session cached: %v", err)
	}
	e.Sim.ExpireSessions()
	list(ctx) // expired: the second login replaces the session
	if got := e.Sim.User(t, "fleet_uws").LoginsOK; got != 2 {
		t.Fatalf("%d logins, want 2", got)
	}
	// The first look uses the stale session read ahead, is told it expired,
	// and then finds the newer one in the cache.
	list(upstream.WithSessionRead(ctx, cred.Username, old))
	cur, ok, err := e.DB.Session(ctx, nil, cred.Key, false)
	if err != nil || !ok {
		t.Fatalf("no session cached: %v", err)
	}
	// A session read ahead that is current is used as it is, and its
	// absence read ahead only sends the client to the door, which looks
	// again.
	list(upstream.WithSessionRead(ctx, cred.Username, cur))
	list(upstream.WithSessionRead(ctx, cred.Username, old))
	list(upstream.WithSessionRead(ctx, cred.Username, store.SealedSession{}))
	if got := e.Sim.User(t, "fleet_uws").LoginsOK; got != 2 {
		t.Fatalf("%d logins: a session read ahead cost a login", got)
	}
}
