package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/config"
	"github.com/uwsportal/uwsportal/internal/notify/channel"
	"github.com/uwsportal/uwsportal/internal/tsim"
	"github.com/uwsportal/uwsportal/models"
	"github.com/uwsportal/uwsportal/web"
)

// asyncPortal is a whole portal whose callback listener ThingSpace (the
// simulator, in async mode) can reach, with department fleet.
func asyncPortal(t *testing.T) *portal {
	t.Helper()
	var h atomic.Pointer[http.Handler]
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*h.Load()).ServeHTTP(w, r) }))
	t.Cleanup(ts.Close)
	e := apptest.New(t, apptest.Options{CallbackURL: ts.URL, AnyCallbackTarget: true})
	e.Seed("fleet", "fleet_uws", models.ProtocolREST)
	if err := e.App.Departments.SetAccount(ctx, e.Admin, apptest.Meta, "fleet", account); err != nil {
		t.Fatal(err)
	}
	e.Sim.SeedDevices(account, 50, 7)
	e.Sim.SetAsync(tsim.AsyncOptions{Delay: 10 * time.Millisecond, Retry: 10 * time.Millisecond})
	env := map[string]string{"UWSPORTAL_MASTER_KEY": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "UWSPORTAL_BASE_URL": "http://127.0.0.1:1"}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	e.App.Config = cfg
	srv, err := web.New(web.Deps{App: e.App, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	handler := srv.Handler()
	h.Store(&handler)
	if err := e.App.Requests.Register(ctx, e.Admin, apptest.Meta, "fleet"); err != nil {
		t.Fatal(err)
	}
	return &portal{Env: e, URL: ts.URL}
}

// received is what one application's listener got.
type received struct {
	mu     sync.Mutex
	bodies []map[string]any
	raw    [][]byte
	sigs   []http.Header
}

func appListener(t *testing.T) (*httptest.Server, *received) {
	t.Helper()
	got := &received{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		var m map[string]any
		if err != nil || json.Unmarshal(b, &m) != nil {
			t.Errorf("client callback body %q: %v", b, err)
		}
		got.mu.Lock()
		got.bodies, got.raw, got.sigs = append(got.bodies, m), append(got.raw, b), append(got.sigs, r.Header.Clone())
		got.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

// Two API clients on one department each register a listener and each
// receives only its own requests' callbacks, signed; neither can read the
// other's request status.
func TestEachClientReceivesOnlyItsOwnCallbacks(t *testing.T) {
	t.Parallel()
	p := asyncPortal(t)
	apps := []*vz{p.app(t, p.client(t, "fleet", models.OpList, models.OpSuspend)).start(),
		p.app(t, p.client(t, "fleet", models.OpList, models.OpSuspend)).start()}
	var got []*received
	for i, a := range apps {
		srv, r := appListener(t)
		got = append(got, r)
		reg := map[string]string{"name": "CarrierService", "url": srv.URL, "username": "app" + string(rune('A'+i)), "password": "pw-" + string(rune('A'+i))}
		if ans := a.do(http.MethodPost, "/api/m2m/v1/callbacks/"+account, reg, nil); ans.Status != http.StatusOK || ans.json(t)["serviceName"] != "CarrierService" {
			t.Fatalf("register: %d %s", ans.Status, ans.Body)
		}
		if ans := a.do(http.MethodGet, "/api/m2m/v1/callbacks/"+account, nil, nil); ans.Status != http.StatusOK || !json.Valid(ans.Body) {
			t.Fatalf("list: %d %s", ans.Status, ans.Body)
		}
	}
	var rids []string
	// Two devices: the second suspend of one device would fail upstream
	// while the first is still pending.
	mdns := activeMDNs(t, apps[0], len(apps))
	for i, a := range apps {
		ans := a.act("suspend", account, mdns[i], nil)
		rid, _ := ans.json(t)["requestId"].(string)
		if ans.Status != http.StatusOK || rid == "" {
			t.Fatalf("suspend: %d %s", ans.Status, ans.Body)
		}
		if st := a.do(http.MethodGet, "/api/m2m/v1/accounts/"+account+"/requests/"+rid+"/status", nil, nil); st.Status != http.StatusOK {
			t.Fatalf("status: %d %s", st.Status, st.Body)
		}
		rids = append(rids, rid)
	}
	p.Sim.Wait()
	if n, err := p.App.Requests.DeliverDue(ctx); err != nil || n != 2 {
		t.Fatalf("delivered %d, %v; want 2", n, err)
	}
	for i, a := range apps {
		r := got[i]
		if len(r.bodies) != 1 || r.bodies[0]["requestId"] != rids[i] || r.bodies[0]["status"] != "Success" ||
			r.bodies[0]["username"] != "app"+string(rune('A'+i)) || r.bodies[0]["password"] != "pw-"+string(rune('A'+i)) {
			t.Fatalf("client %d received %v, want only its request %s", i, r.bodies, rids[i])
		}
		if err := channel.Verify([]byte("pw-"+string(rune('A'+i))), r.sigs[0], r.raw[0], time.Now(), time.Hour); err != nil {
			t.Fatalf("client %d: signature: %v", i, err)
		}
		st := a.do(http.MethodGet, "/api/m2m/v1/accounts/"+account+"/requests/"+rids[i]+"/status", nil, nil)
		if st.Status != http.StatusOK || st.json(t)["status"] != "Success" {
			t.Fatalf("own status: %d %s", st.Status, st.Body)
		}
		other := a.do(http.MethodGet, "/api/m2m/v1/accounts/"+account+"/requests/"+rids[1-i]+"/status", nil, nil)
		if other.Status != http.StatusBadRequest || other.code(t) != "UnifiedWebService.REQUEST_FAILED.Request.NotFound" {
			t.Fatalf("another client's status: %d %s", other.Status, other.Body)
		}
	}
	reads := p.Sim.StatusReads(account)
	for _, a := range apps { // known outcomes: no upstream call
		a.do(http.MethodGet, "/api/m2m/v1/accounts/"+account+"/requests/"+rids[0]+"/status", nil, nil)
	}
	if p.Sim.StatusReads(account) != reads {
		t.Fatal("a status read of a known outcome went upstream")
	}
	if n := len(p.Sim.Listeners(account)); n != 1 {
		t.Fatalf("ThingSpace lists %d listeners: the clients' registrations must not be forwarded", n)
	}
	if ans := apps[0].do(http.MethodDelete, "/api/m2m/v1/callbacks/"+account+"/name/CarrierService", nil, nil); ans.Status != http.StatusOK {
		t.Fatalf("deregister: %d %s", ans.Status, ans.Body)
	}
	if ans := apps[0].do(http.MethodDelete, "/api/m2m/v1/callbacks/"+account+"/name/CarrierService", nil, nil); ans.Status != http.StatusBadRequest {
		t.Fatalf("deregister again: %d %s", ans.Status, ans.Body)
	}
	if ans := apps[0].do(http.MethodGet, "/api/m2m/v1/callbacks/"+other, nil, nil); ans.Status != http.StatusForbidden {
		t.Fatalf("another account's listeners: %d %s", ans.Status, ans.Body)
	}
}
