package service

import (
	"context"
	"sync"
	"testing"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// Two instances that both find no session log in once between them, and
// the session they share is sealed in the database.
func TestSessionSharedAcrossInstances(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	open := func() *store.DB {
		db, err := store.Open(context.Background(), url, store.Options{MaxConns: 10})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		return db
	}
	a := newEnv(t, envOpt{db: open()})
	b := a.second(open())
	a.seed("fleet", "fleet_uws", models.ProtocolREST)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 8 {
		e := a
		if i%2 == 1 {
			e = b
		}
		wg.Go(func() {
			c, err := e.svc.client(models.ProtocolREST)
			if err != nil {
				t.Error(err)
				return
			}
			r := e.row("fleet")
			if err := e.svc.ensureSession(ctx, c, r.ID, e.credOf("fleet")); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if up := a.sim.user(t, "fleet_uws"); up.LoginsOK != 1 {
		t.Fatalf("%d logins for one shared session", up.LoginsOK)
	}
	tok, ok, err := b.svc.Upstream.cache.Get(ctx, "fleet")
	if err != nil || !ok {
		t.Fatalf("no shared session: %v", err)
	}
	var ct []byte
	if err := a.db.Pool.QueryRow(ctx, "SELECT ciphertext FROM upstream_sessions").Scan(&ct); err != nil {
		t.Fatal(err)
	}
	if contains(string(ct), tok) {
		t.Fatal("the session token is stored in clear")
	}
	// A rotation reuses the session: only the verification logs in.
	if res, err := b.svc.Rotate(ctx, a.admin, meta, "fleet", ""); err != nil || !res.Rotated() {
		t.Fatalf("rotate %+v %v", res, err)
	}
	if up := a.sim.user(t, "fleet_uws"); up.LoginsOK != 2 {
		t.Fatalf("%d logins, want the cached session reused", up.LoginsOK)
	}
	// Expired upstream: dropped, one new login, the reset retried once.
	a.sim.sim.ExpireSessions()
	if res, err := a.svc.Rotate(ctx, a.admin, meta, "fleet", ""); err != nil || !res.Rotated() {
		t.Fatalf("rotate after expiry %+v %v", res, err)
	}
	if up := a.sim.user(t, "fleet_uws"); up.LoginsOK != 4 || up.LoginFailures != 0 {
		t.Fatalf("after expiry: %+v", up)
	}
	e := a
	e.noLeak(tok)
}
