package gateway_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/internal/testutil"
	"github.com/uwsportal/uwsportal/models"
)

// tracedPortal is newPortal over a pool whose round trips are counted.
func tracedPortal(t *testing.T) (*portal, *store.RoundTrips) {
	t.Helper()
	url := testdb.URL(t)
	c := testutil.ClockFor(t)
	rt := &store.RoundTrips{}
	db, err := store.Open(ctx, url, store.Options{MaxConns: 10, Now: c.Now, RoundTrips: rt})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	testutil.BindClock(t, db, c)
	return newPortalOn(t, unlimited, url, db), rt
}

// maxRoundTrips is what a device list with a live session may cost in
// round trips to Postgres: the caller (token, handle, client, scopes,
// rate limit) with the way upstream (the department's ceiling, credential
// and shared session), and the audit group commit's one (it knows the
// head).
const maxRoundTrips = 2

// A list call through the gateway with everything warm costs at most
// maxRoundTrips round trips, whatever the statements.
func TestGatewayCallRoundTrips(t *testing.T) {
	t.Parallel()
	p, rt := tracedPortal(t)
	app := p.app(t, p.client(t, "fleet", models.OpList)).start()
	for range 2 { // the session logs in, statements are prepared
		if a := app.list(account); !a.listed() {
			t.Fatalf("list: %d %s", a.Status, a.Body)
		}
	}
	sent := rt.Count(func() {
		if a := app.list(account); !a.listed() {
			t.Fatalf("list: %d %s", a.Status, a.Body)
		}
	})
	if len(sent) > maxRoundTrips {
		t.Fatalf("%d round trips per call, want at most %d:\n%s", len(sent), maxRoundTrips, strings.Join(sent, "\n"))
	}
}

// maxActionRoundTrips is what an action with an Idempotency-Key may cost:
// the caller with the way upstream, the key's claim, the audit's two (the
// last action's record moved the chain's head in its own transaction),
// keeping the answer, and recording the request to follow (six,
// internal/requests; its audit event is one round trip).
const maxActionRoundTrips = 11

// An action with an Idempotency-Key, everything warm, costs at most
// maxActionRoundTrips.
func TestGatewayActionRoundTrips(t *testing.T) {
	t.Parallel()
	p, rt := tracedPortal(t)
	app := p.app(t, p.client(t, "fleet", models.OpList, models.OpSuspend, models.OpRestore)).start()
	mdn := activeMDN(t, app)
	if a := app.act("suspend", account, mdn, map[string]string{"Idempotency-Key": "warm"}); a.Status != http.StatusOK {
		t.Fatalf("suspend: %d %s", a.Status, a.Body)
	}
	sent := rt.Count(func() {
		if a := app.act("restore", account, mdn, map[string]string{"Idempotency-Key": "k1"}); a.Status != http.StatusOK {
			t.Fatalf("restore: %d %s", a.Status, a.Body)
		}
	})
	if len(sent) > maxActionRoundTrips {
		t.Fatalf("%d round trips per action, want at most %d:\n%s", len(sent), maxActionRoundTrips, strings.Join(sent, "\n"))
	}
}
