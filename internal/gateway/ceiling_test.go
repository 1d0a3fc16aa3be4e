package gateway_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/gateway"
	"github.com/uwsportal/uwsportal/models"
)

// A department's clients together, on every instance, send ThingSpace no
// more than its ceiling; the 429 says it was the department's ceiling,
// not the client's own limit; only admins set it; another department is
// not affected.
func TestDepartmentCeilingAcrossClientsAndInstances(t *testing.T) {
	t.Parallel()
	a := newPortal(t, gateway.Limits{Burst: 50, PerSecond: 50})
	b := a.second(t)
	if err := a.App.Gateway.SetCeiling(ctx, lead, apptest.Meta, "fleet", 100); err == nil {
		t.Fatal("a lead set the department's ceiling")
	}
	if err := a.App.Gateway.SetCeiling(ctx, a.Admin, apptest.Meta, "fleet", 2); err != nil {
		t.Fatal(err)
	}
	apps := []*vz{a.app(t, a.client(t, "fleet", models.OpList)).start(), b.app(t, a.client(t, "fleet", models.OpList)).start(),
		b.app(t, a.client(t, "fleet", models.OpList)).start()}
	before := a.Sim.User(t, "fleet_uws").Calls
	var limited answer
	passed := 0
	for i := 0; i < 6; i++ {
		r := apps[i%3].list(account)
		switch {
		case r.listed():
			passed++
		case r.Status == http.StatusTooManyRequests:
			limited = r
		default:
			t.Fatalf("list: %d %.200s", r.Status, r.Body)
		}
	}
	if passed != 2 {
		t.Fatalf("%d of 6 calls passed a ceiling of 2 per second (burst 2) with the clock stopped", passed)
	}
	if got := a.Sim.User(t, "fleet_uws").Calls - before; got > 2 {
		t.Fatalf("%d calls reached ThingSpace", got)
	}
	m := limited.json(t)
	f, _ := m["fault"].(map[string]any)
	desc, _ := f["description"].(string)
	if limited.Header.Get("Uwsportal-Limit") != "department" || limited.Header.Get("Retry-After") == "" || !strings.Contains(desc, "ceiling of 2 calls per second") {
		t.Fatalf("the 429 does not name the department's ceiling: %v %.300s", limited.Header, limited.Body)
	}
	other := a.app(t, a.client(t, "beta", models.OpList)).start()
	if r := other.list("0000654321-00002"); !r.listed() {
		t.Fatalf("another department was limited: %d %.200s", r.Status, r.Body)
	}
	a.Clock.Advance(time.Second)
	if r := apps[1].list(account); !r.listed() {
		t.Fatalf("after a second: %d %.200s", r.Status, r.Body)
	}
}

// The client's own limit is named as such.
func TestClientLimitIsNamed(t *testing.T) {
	t.Parallel()
	p := newPortal(t, gateway.Limits{Burst: 3, PerSecond: 0.5})
	app := p.app(t, p.client(t, "fleet", models.OpList)).start()
	var r answer
	for i := 0; i < 3; i++ {
		r = app.list(account)
	}
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Uwsportal-Limit") != "client" || !strings.Contains(string(r.Body), "client's rate limit (0.5 calls per second, bursts of 3)") {
		t.Fatalf("the client's 429: %d %v %.300s", r.Status, r.Header, r.Body)
	}
}

// The department's token is taken with the caller's in one round trip, so
// a call refused after that gives it back: a call outside the client's
// scopes, an idempotent replay (it sends nothing), a client over its own
// limit (which never takes one). With the clock stopped, the department's
// tokens then go to the calls that reach ThingSpace, and to no others.
func TestRefusedCallsLeaveTheCeilingsTokens(t *testing.T) {
	t.Parallel()
	// Each client's bucket: 3, refilled at 1 a second (its token and login
	// take two); the department's: 2 a second. The clock moves only when
	// told.
	p := newPortal(t, gateway.Limits{Burst: 3, PerSecond: 1})
	if err := p.App.Gateway.SetCeiling(ctx, p.Admin, apptest.Meta, "fleet", 2); err != nil {
		t.Fatal(err)
	}
	lister := p.app(t, p.client(t, "fleet", models.OpList)).start()
	actor := p.app(t, p.client(t, "fleet", models.OpList, models.OpSuspend)).start()
	mdn := activeMDN(t, actor)
	p.Clock.Advance(time.Second) // the department's bucket full again
	if a := lister.act("suspend", account, mdn, nil); a.Status != http.StatusForbidden {
		t.Fatalf("a suspend outside the client's scopes: %d %.200s", a.Status, a.Body)
	}
	if a := actor.act("suspend", account, mdn, map[string]string{"Idempotency-Key": "once"}); a.Status != http.StatusOK {
		t.Fatalf("suspend: %d %.200s", a.Status, a.Body)
	}
	p.Clock.Advance(time.Second) // the department's bucket full again; the actor's holds 1
	if a := actor.act("suspend", account, mdn, map[string]string{"Idempotency-Key": "once"}); a.Status != http.StatusOK {
		t.Fatalf("the replay: %d %.200s", a.Status, a.Body)
	}
	// The actor's own bucket is empty now: refused, it takes nothing.
	if a := actor.list(account); a.Status != http.StatusTooManyRequests || a.Header.Get(gateway.HeaderLimit) != gateway.LimitClient {
		t.Fatalf("over the client's limit: %d %v %.200s", a.Status, a.Header, a.Body)
	}
	other := p.app(t, p.client(t, "fleet", models.OpList)).start()
	for _, v := range []*vz{other, lister} {
		if a := v.list(account); !a.listed() {
			t.Fatalf("a list after a refusal, a replay and a client over its limit, the department's bucket full: %d %v %.200s", a.Status, a.Header, a.Body)
		}
	}
	third := p.app(t, p.client(t, "fleet", models.OpList)).start()
	if a := third.list(account); a.Status != http.StatusTooManyRequests || a.Header.Get(gateway.HeaderLimit) != gateway.LimitDepartment {
		t.Fatalf("a third list, the department's two tokens spent: %d %v %.200s", a.Status, a.Header, a.Body)
	}
}
