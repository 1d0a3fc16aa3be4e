package thingspace_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/internal/tsim"
)

// Each 401 body the simulator can give costs one token fetch and one resend,
// and no failed login.
func TestSimulator401KindsRetriedOnce(t *testing.T) {
	for _, kind := range []string{tsim.Unauthorized401Empty, tsim.Unauthorized401HTML, tsim.Unauthorized401InvalidToken} {
		t.Run(kind, func(t *testing.T) {
			env := newSimEnv(t)
			b := env.rest(t)
			s, err := b.Login(t.Context(), testUser, testPassword)
			if err != nil {
				t.Fatal(err)
			}
			env.faults(t, tsim.Faults{Unauthorized401Next: kind})
			if err := b.Call(t.Context(), s, http.MethodPost, deviceList, nil, nil); err != nil {
				t.Fatalf("call after a 401: %v", err)
			}
			env.faults(t, tsim.Faults{Unauthorized401Next: kind})
			if _, err := b.Login(t.Context(), testUser, testPassword); err != nil {
				t.Fatalf("login after a 401: %v", err)
			}
			st, u := env.sim.Stats(), env.user(t)
			if st.BearerRejections != 2 || st.TokensIssued != 3 || u.Calls != 1 || u.LoginsOK != 2 || u.LoginFailures != 0 {
				t.Fatalf("stats %+v user %+v", st, u)
			}
		})
	}
}

func TestSimulatorThrottle(t *testing.T) {
	env := newSimEnv(t)
	env.faults(t, tsim.Faults{Throttle: true, RetryAfter: 3 * time.Second})
	_, err := env.rest(t).Login(t.Context(), testUser, "Wr0ng!Password")
	var te *thingspace.Error
	if !errors.As(err, &te) || te.Class != thingspace.ClassThrottled || te.RetryAfter != 3*time.Second || te.Code != "900800" {
		t.Fatalf("err %v, want throttled with 3s", err)
	}
	if u := env.user(t); u.LoginFailures != 0 || thingspace.MayCountUpstream(err) {
		t.Fatalf("a throttled login reached the service or counts: %+v", u)
	}
}

func TestSimulatorMalformedReset200(t *testing.T) {
	for _, proto := range []string{"rest", "soap"} {
		t.Run(proto, func(t *testing.T) {
			env := newSimEnv(t)
			b := env.backends(t)[proto]
			s, err := b.Login(t.Context(), testUser, testPassword)
			if err != nil {
				t.Fatal(err)
			}
			env.faults(t, tsim.Faults{ResetMalformed200: true})
			res := b.ResetPassword(t.Context(), s, testPassword)
			if res.Outcome != thingspace.ResetApplied || res.NewPassword.Reveal() != env.user(t).Password {
				t.Fatalf("outcome %v (%v); want applied with the simulator's password", res.Outcome, res.Err)
			}
		})
	}
}

// A SOAP fault that comes with HTTP 200 is still a fault: an expired session
// is re-established once.
func TestSimulatorSOAPFaultIn200(t *testing.T) {
	env := newSimEnv(t)
	c, _ := newClient(t, env.soap(t), 2)
	if err := c.Login(t.Context(), cred(testPassword)); err != nil {
		t.Fatal(err)
	}
	env.faults(t, tsim.Faults{SOAPFault200: true, ExpireSessionNext: true})
	res := c.Reset(t.Context(), cred(testPassword))
	if u := env.user(t); res.Outcome != thingspace.ResetApplied || u.LoginsOK != 2 || u.ResetsApplied != 1 {
		t.Fatalf("outcome %v (%v), logins %d, resets %d", res.Outcome, res.Err, u.LoginsOK, u.ResetsApplied)
	}
}

// A token endpoint slower than the caller's patience fails the login before
// it is sent: no attempt spent.
func TestSimulatorSlowTokenEndpoint(t *testing.T) {
	env := newSimEnv(t)
	env.sim.SetTokenLatency(300 * time.Millisecond)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := env.rest(t).Login(ctx, testUser, testPassword)
	if err == nil || thingspace.MayCountUpstream(err) {
		t.Fatalf("err %v: want a failure that cannot have counted", err)
	}
	if u := env.user(t); u.LoginsOK+u.LoginFailures != 0 {
		t.Fatalf("a login reached the service: %+v", u)
	}
}
