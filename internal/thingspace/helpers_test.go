package thingspace_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

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

// testDoor is the tests' stand-in for internal/upstream's login door: a
// lockout count per key in memory, refusing at limit, logging in with the
// password of the credential in use.
type testDoor struct {
	b        thingspace.Backend
	limit    int
	mu       sync.Mutex
	pw       string
	failures map[string]int
}

func (d *testDoor) login(ctx context.Context, cred thingspace.Credential) (string, error) {
	d.mu.Lock()
	n, pw := d.failures[cred.Key], d.pw
	d.mu.Unlock()
	if n >= d.limit {
		return "", fmt.Errorf("credential %q has %d consecutive failed logins: %w", cred.Key, n, thingspace.ErrGuardRefused)
	}
	tok, err := d.b.Login(ctx, cred.Username, pw)
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case err == nil:
		delete(d.failures, cred.Key)
	case thingspace.MayCountUpstream(err):
		d.failures[cred.Key]++
	}
	return tok, err
}

// Failures is key's consecutive failure count.
func (d *testDoor) Failures(key string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.failures[key]
}

// testClient is a thingspace.Client over a testDoor whose methods take the
// password to log in with along with the credential.
type testClient struct {
	*thingspace.Client
	b    thingspace.Backend
	door *testDoor
}

type testCred struct {
	thingspace.Credential
	pw string
}

func cred(pw string) testCred {
	return testCred{thingspace.Credential{Key: "dept", Username: testUser}, pw}
}

func newClient(t testing.TB, b thingspace.Backend, limit int) (*testClient, *testDoor) {
	t.Helper()
	d := &testDoor{b: b, limit: limit, failures: map[string]int{}}
	cache := thingspace.NewMemorySessionCache()
	c, err := thingspace.NewClient(thingspace.ClientConfig{Backend: b, Cache: cache,
		Login: func(ctx context.Context, cred thingspace.Credential, stale string) (string, error) {
			tok, err := d.login(ctx, cred)
			if err == nil {
				err = cache.Put(ctx, cred.Key, tok)
			}
			return tok, err
		}})
	if err != nil {
		t.Fatal(err)
	}
	return &testClient{Client: c, b: b, door: d}, d
}

func (c *testClient) use(cr testCred) thingspace.Credential {
	c.door.mu.Lock()
	c.door.pw = cr.pw
	c.door.mu.Unlock()
	return cr.Credential
}

func (c *testClient) Login(ctx context.Context, cr testCred) error {
	return c.Client.Login(ctx, c.use(cr))
}

func (c *testClient) Call(ctx context.Context, cr testCred, method, path string, body, out any) error {
	return c.Client.Call(ctx, c.use(cr), method, path, body, out)
}

func (c *testClient) WithSession(ctx context.Context, cr testCred, fn func(context.Context, string) error) error {
	return c.Client.WithSession(ctx, c.use(cr), fn)
}

func (c *testClient) ListDevices(ctx context.Context, cr testCred, req thingspace.ListDevicesRequest) (thingspace.ListDevicesResponse, error) {
	return c.Client.ListDevices(ctx, c.use(cr), req)
}

func (c *testClient) EachDevicePage(ctx context.Context, cr testCred, req thingspace.ListDevicesRequest, fn func([]thingspace.Device) error) error {
	return c.Client.EachDevicePage(ctx, c.use(cr), req, fn)
}

func (c *testClient) DeviceAction(ctx context.Context, cr testCred, op string, body any) (thingspace.ActionResponse, error) {
	return c.Client.DeviceAction(ctx, c.use(cr), op, body)
}

func (c *testClient) Forward(ctx context.Context, cr testCred, method, path string, payload []byte) (thingspace.RawAnswer, error) {
	return c.Client.Forward(ctx, c.use(cr), method, path, payload)
}

// TestLogin logs in through the door and out again, the cache untouched.
func (c *testClient) TestLogin(ctx context.Context, cr testCred) error {
	tok, err := c.door.login(ctx, c.use(cr))
	if err != nil {
		return err
	}
	if err := c.b.Logout(ctx, tok); err != nil && thingspace.ClassOf(err) != thingspace.ClassSessionExpired {
		return err
	}
	return nil
}

// Reset is a reset with the cached session, as the rotation engine makes
// one: refused for an expired session, it is retried once with a new
// session; any other outcome is returned as is.
func (c *testClient) Reset(ctx context.Context, cr testCred) thingspace.ResetResult {
	var res thingspace.ResetResult
	sent := false
	err := c.Client.WithSession(ctx, c.use(cr), func(ctx context.Context, session string) error {
		sent = true
		res = c.b.ResetPassword(ctx, session, cr.pw)
		if res.Outcome == thingspace.ResetRejected {
			return res.Err
		}
		return nil
	})
	if !sent || res.Outcome == thingspace.ResetRejected {
		return thingspace.ResetResult{Outcome: thingspace.ResetRejected, Err: err}
	}
	return res
}
