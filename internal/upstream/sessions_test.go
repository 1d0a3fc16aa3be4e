package upstream_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/internal/upstream"
	"github.com/uwsportal/uwsportal/models"
)

// Two instances that both find no session log in once between them, and
// the session they share is sealed in the database.
func TestSessionSharedAcrossInstances(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	a := apptest.New(t, apptest.Options{DB: apptest.OpenDB(t, url)})
	b := a.Second(apptest.OpenDB(t, url))
	a.Seed("fleet", "fleet_uws", models.ProtocolREST)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 8 {
		e := a
		if i%2 == 1 {
			e = b
		}
		wg.Go(func() {
			cred := e.CredOf("fleet")
			who := upstream.Who{P: e.Admin, Purpose: upstream.PurposeUse, Department: "fleet", Protocol: models.ProtocolREST}
			if err := e.App.Upstream.EnsureSession(ctx, who, cred.Username); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if up := a.Sim.User(t, "fleet_uws"); up.LoginsOK != 1 {
		t.Fatalf("%d logins for one shared session", up.LoginsOK)
	}
	tok, ok, err := b.App.Upstream.Sessions().Get(ctx, "fleet_uws")
	if err != nil || !ok {
		t.Fatalf("no shared session: %v", err)
	}
	var ct []byte
	if err := a.DB.Pool.QueryRow(ctx, "SELECT ciphertext FROM upstream_sessions").Scan(&ct); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(ct), tok) {
		t.Fatal("the session token is stored in clear")
	}
	// A rotation reuses the session: only the verification logs in.
	if res, err := b.App.Rotation.Rotate(ctx, a.Admin, apptest.Meta, "fleet", ""); err != nil || !res.Rotated() {
		t.Fatalf("rotate %+v %v", res, err)
	}
	if up := a.Sim.User(t, "fleet_uws"); up.LoginsOK != 2 {
		t.Fatalf("%d logins, want the cached session reused", up.LoginsOK)
	}
	// Expired upstream: dropped, one new login, the reset retried once.
	a.Sim.ExpireSessions()
	if res, err := a.App.Rotation.Rotate(ctx, a.Admin, apptest.Meta, "fleet", ""); err != nil || !res.Rotated() {
		t.Fatalf("rotate after expiry %+v %v", res, err)
	}
	if up := a.Sim.User(t, "fleet_uws"); up.LoginsOK != 4 || up.LoginFailures != 0 {
		t.Fatalf("after expiry: %+v", up)
	}
	a.NoLeak(tok)
}
