package thingspace_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/internal/tsim"
)

const deviceList = "/api/m2m/v1/devices/actions/list"

func TestHundredCallsOneLogin(t *testing.T) {
	env := newSimEnv(t)
	c, _ := newClient(t, env.rest(t), 2)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 100 {
		wg.Go(func() {
			errs <- c.Call(t.Context(), cred(testPassword), http.MethodPost, deviceList, map[string]string{"accountName": "a"}, nil)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	u := env.user(t)
	if u.LoginsOK != 1 || u.Calls != 100 {
		t.Fatalf("logins %d, calls %d; want 1 login for 100 calls", u.LoginsOK, u.Calls)
	}
	if st := env.sim.Stats(); st.TokenRequests != 1 {
		t.Fatalf("%d token requests, want 1", st.TokenRequests)
	}
}

func TestReloginOnceOnIdleExpiry(t *testing.T) {
	env := newSimEnv(t)
	c, _ := newClient(t, env.rest(t), 2)
	call := func() error {
		return c.Call(t.Context(), cred(testPassword), http.MethodPost, deviceList, nil, nil)
	}
	if err := call(); err != nil {
		t.Fatal(err)
	}
	env.clock.Advance(19 * time.Minute) // still alive: used within 20 minutes
	if err := call(); err != nil {
		t.Fatal(err)
	}
	if n := env.user(t).LoginsOK; n != 1 {
		t.Fatalf("%d logins before expiry, want 1", n)
	}
	env.clock.Advance(21 * time.Minute)
	if err := call(); err != nil {
		t.Fatal(err)
	}
	if u := env.user(t); u.LoginsOK != 2 || u.Calls != 3 {
		t.Fatalf("logins %d calls %d after idle expiry, want 2 and 3", u.LoginsOK, u.Calls)
	}
}

func TestReloginOnceOnExpiredFaultBothBackends(t *testing.T) {
	env := newSimEnv(t)
	for name, b := range env.backends(t) {
		t.Run(name, func(t *testing.T) {
			c, _ := newClient(t, b, 2)
			if err := c.Login(t.Context(), cred(testPassword)); err != nil {
				t.Fatal(err)
			}
			before := env.user(t).LoginsOK
			env.faults(t, tsim.Faults{ExpireSessionNext: true})
			// A logout goes through the session for both protocols.
			if err := c.WithSession(t.Context(), cred(testPassword), func(ctx context.Context, s string) error {
				return b.Logout(ctx, s)
			}); err != nil {
				t.Fatal(err)
			}
			if n := env.user(t).LoginsOK - before; n != 1 {
				t.Fatalf("%d re-logins, want exactly 1", n)
			}
		})
	}
}

// stubBackend counts logins and answers calls with callErr.
type stubBackend struct {
	mu       sync.Mutex
	logins   int
	loginErr error
	callErr  error
	reset    thingspace.ResetResult
}

func (s *stubBackend) Login(ctx context.Context, u, p string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logins++
	if s.loginErr != nil {
		return "", s.loginErr
	}
	return "session-" + strings.Repeat("x", s.logins), nil
}
func (s *stubBackend) Logout(context.Context, string) error { return nil }
func (s *stubBackend) ResetPassword(context.Context, string, string) thingspace.ResetResult {
	return s.reset
}
func (s *stubBackend) Call(context.Context, string, string, string, any, any) error { return s.callErr }

func TestReloginExactlyOnceWhenExpiryPersists(t *testing.T) {
	b := &stubBackend{callErr: &thingspace.Error{Class: thingspace.ClassSessionExpired, Code: "REQUEST_FAILED.SessionToken.Expired"}}
	c, _ := newClient(t, b, 2)
	err := c.Call(t.Context(), cred(testPassword), http.MethodGet, "/x", nil, nil)
	if thingspace.ClassOf(err) != thingspace.ClassSessionExpired {
		t.Fatalf("class %v, want session expired", thingspace.ClassOf(err))
	}
	if b.logins != 2 {
		t.Fatalf("%d logins, want 2 (first + one re-login)", b.logins)
	}
	// Other failures never trigger a login.
	b.callErr = &thingspace.Error{Class: thingspace.ClassTransient}
	_ = c.Call(t.Context(), cred(testPassword), http.MethodGet, "/x", nil, nil)
	if b.logins != 3 { // the persisting expiry dropped the session; one fresh login, no retry
		t.Fatalf("%d logins, want 3", b.logins)
	}
	_ = c.Call(t.Context(), cred(testPassword), http.MethodGet, "/x", nil, nil)
	if b.logins != 3 {
		t.Fatalf("a transient failure caused a login (%d)", b.logins)
	}
}

func TestClientNeedsADoor(t *testing.T) {
	if _, err := thingspace.NewClient(thingspace.ClientConfig{Backend: &stubBackend{}, Cache: thingspace.NewMemorySessionCache()}); err == nil {
		t.Error("NewClient without a login door accepted")
	}
}

func TestGuardCounting(t *testing.T) {
	ctx := t.Context()
	for _, tt := range []struct {
		name    string
		err     error
		counted bool
	}{
		{"invalid credentials", &thingspace.Error{Class: thingspace.ClassInvalidCredentials, Status: 400}, true},
		{"locked", &thingspace.Error{Class: thingspace.ClassLocked, Status: 400}, true},
		{"5xx after sending", &thingspace.Error{Class: thingspace.ClassTransient, Status: 502}, true},
		{"bearer rejected", &thingspace.Error{Class: thingspace.ClassBearerRejected, Status: 401}, false},
		{"foreign error", errors.New("boom"), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := &stubBackend{loginErr: tt.err}
			c, g := newClient(t, b, 2)
			_ = c.Login(ctx, cred("pw"))
			if got := g.Failures("dept") == 1; got != tt.counted {
				t.Fatalf("counted %v, want %v", got, tt.counted)
			}
		})
	}
	// A success resets the count; the guard refuses at the limit.
	b := &stubBackend{loginErr: &thingspace.Error{Class: thingspace.ClassInvalidCredentials}}
	c, g := newClient(t, b, 2)
	_ = c.TestLogin(ctx, cred("pw"))
	b.loginErr = nil
	if err := c.TestLogin(ctx, cred("pw")); err != nil || g.Failures("dept") != 0 {
		t.Fatalf("success: %v, failures %d", err, g.Failures("dept"))
	}
	b.loginErr = &thingspace.Error{Class: thingspace.ClassInvalidCredentials}
	_ = c.TestLogin(ctx, cred("pw"))
	_ = c.TestLogin(ctx, cred("pw"))
	err := c.TestLogin(ctx, cred("pw"))
	if thingspace.ClassOf(err) != thingspace.ClassGuardRefused || !errors.Is(err, thingspace.ErrGuardRefused) || b.logins != 4 {
		t.Fatalf("third failure: %v (class %v), %d logins; want guard refusal after 4 logins", err, thingspace.ClassOf(err), b.logins)
	}
}

// TestLockoutNeverReached runs 1,000 operations with a wrong stored password
// under every fault, through both backends, and checks that ThingSpace never
// sees more consecutive failures than the guard allows.
func TestLockoutNeverReached(t *testing.T) {
	faults := map[string]tsim.Faults{
		"none":             {},
		"latency":          {Latency: time.Millisecond},
		"login 5xx after":  {LoginFailAfter: true},
		"expire session":   {ExpireSessionNext: true},
		"reject bearer":    {RejectBearerNext: true},
		"reset 5xx before": {ResetFailBefore: true},
		"reset 5xx after":  {ResetFailAfter: true},
		"reset drop after": {ResetDropAfter: true},
	}
	const limit = 2
	for fname, f := range faults {
		for _, proto := range []string{"rest", "soap"} {
			t.Run(fname+"/"+proto, func(t *testing.T) {
				env := newSimEnv(t)
				env.faults(t, f)
				c, _ := newClient(t, env.backends(t)[proto], limit)
				wrong := cred("Wr0ng!Password")
				for i := range 1000 {
					switch i % 4 {
					case 0:
						_ = c.Call(t.Context(), wrong, http.MethodPost, deviceList, nil, nil)
					case 1:
						_ = c.Reset(t.Context(), wrong)
					case 2:
						_ = c.TestLogin(t.Context(), wrong)
					case 3:
						_ = c.Login(t.Context(), wrong)
					}
				}
				u := env.user(t)
				if u.MaxConsecutiveFailures > limit || u.LoginFailures > limit || u.Locked {
					t.Fatalf("upstream saw %d failures (max consecutive %d, locked %v); guard limit %d",
						u.LoginFailures, u.MaxConsecutiveFailures, u.Locked, limit)
				}
				if u.LoginFailures == 0 && !f.LoginFailAfter {
					t.Fatal("no login reached the simulator: the test tests nothing")
				}
			})
		}
	}
}

// TestLoginFailAfterIsCounted: a login answered 502 after upstream counted
// it must count in the guard too, else a flaky proxy would lock the account.
func TestLoginFailAfterIsCounted(t *testing.T) {
	env := newSimEnv(t)
	env.faults(t, tsim.Faults{LoginFailAfter: true})
	c, g := newClient(t, env.rest(t), 2)
	for range 10 {
		_ = c.Login(t.Context(), cred("Wr0ng!Password"))
	}
	if u := env.user(t); u.MaxConsecutiveFailures != 2 || g.Failures("dept") != 2 {
		t.Fatalf("upstream consecutive %d, guard %d; want 2 and 2", u.MaxConsecutiveFailures, g.Failures("dept"))
	}
}

func TestSimulatorLocksAfterFive(t *testing.T) {
	env := newSimEnv(t)
	b := env.rest(t)
	for range 5 {
		if _, err := b.Login(t.Context(), testUser, "bad"); thingspace.ClassOf(err) != thingspace.ClassInvalidCredentials {
			t.Fatalf("class %v", thingspace.ClassOf(err))
		}
	}
	_, err := b.Login(t.Context(), testUser, testPassword)
	if thingspace.ClassOf(err) != thingspace.ClassLocked {
		t.Fatalf("right password on a locked account: class %v, want locked", thingspace.ClassOf(err))
	}
	if err := env.sim.Unlock(testUser); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Login(t.Context(), testUser, testPassword); err != nil {
		t.Fatalf("after unlock: %v", err)
	}
}

func TestNoSecretInErrors(t *testing.T) {
	env := newSimEnv(t)
	for name, b := range env.backends(t) {
		t.Run(name, func(t *testing.T) {
			c, _ := newClient(t, b, 2)
			const pw = "Wr0ng!Password-unique"
			err := c.Login(t.Context(), cred(pw))
			if err == nil || strings.Contains(err.Error(), pw) {
				t.Fatalf("err %v", err)
			}
			var te *thingspace.Error
			if !errors.As(err, &te) || strings.Contains(te.Body, pw) {
				t.Fatalf("no *Error or body reveals the password: %v", err)
			}
			tok, _ := b.Login(t.Context(), testUser, testPassword)
			res := b.ResetPassword(t.Context(), tok, pw)
			if res.Err == nil || strings.Contains(res.Err.Error(), pw) || strings.Contains(res.Err.Error(), tok) {
				t.Fatalf("reset error %v", res.Err)
			}
		})
	}
}
