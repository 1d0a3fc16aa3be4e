package thingspace_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/internal/tsim"
)

const (
	testUser     = "michelle_brown_my_companyUWS"
	testPassword = "Corr3ct-Horse!Battery"
	testAppKey   = "app-key"
	testSecret   = "app-secret"
)

// simEnv is a simulator on a real loopback listener with a manual clock.
type simEnv struct {
	sim   *tsim.Server
	srv   *httptest.Server
	clock *tsim.Clock
	hc    *http.Client
}

func newSimEnv(t testing.TB) *simEnv {
	t.Helper()
	clock := tsim.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	sim := tsim.New(tsim.Options{
		AppKey: testAppKey, AppSecret: testSecret,
		Users: map[string]string{testUser: testPassword},
		Now:   clock.Now,
	})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &simEnv{sim: sim, srv: srv, clock: clock, hc: thingspace.NewHTTPClient(5 * time.Second)}
}

func (e *simEnv) rest(t testing.TB) *thingspace.REST {
	t.Helper()
	b, err := thingspace.NewREST(thingspace.RESTConfig{
		BaseURL: e.srv.URL, AppKey: testAppKey, AppSecret: testSecret,
		HTTPClient: e.hc, Version: "test", Now: e.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *simEnv) soap(t testing.TB) *thingspace.SOAP {
	t.Helper()
	b, err := thingspace.NewSOAP(thingspace.SOAPConfig{
		Endpoint: e.srv.URL + "/api/v2/SessionService.svc", HTTPClient: e.hc, Version: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// backends returns both protocols against the same simulator.
func (e *simEnv) backends(t testing.TB) map[string]thingspace.Backend {
	return map[string]thingspace.Backend{"rest": e.rest(t), "soap": e.soap(t)}
}

func (e *simEnv) user(t testing.TB) tsim.Counters {
	t.Helper()
	c, ok := e.sim.User(testUser)
	if !ok {
		t.Fatalf("simulator has no user %s", testUser)
	}
	return c
}

func (e *simEnv) faults(t testing.TB, f tsim.Faults) {
	t.Helper()
	if err := e.sim.SetFaults(testUser, f); err != nil {
		t.Fatal(err)
	}
}

func newClient(t testing.TB, b thingspace.Backend, limit int) (*thingspace.Client, *thingspace.MemoryGuard) {
	t.Helper()
	g, err := thingspace.NewMemoryGuard(limit)
	if err != nil {
		t.Fatal(err)
	}
	c, err := thingspace.NewClient(thingspace.ClientConfig{Backend: b, Guard: g})
	if err != nil {
		t.Fatal(err)
	}
	return c, g
}

func cred(pw string) thingspace.Credential {
	return thingspace.Credential{Key: "dept", Username: testUser, Password: secret.Secret(pw)}
}
