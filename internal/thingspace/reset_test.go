package thingspace_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/internal/tsim"
)

func TestResetOutcomes(t *testing.T) {
	tests := []struct {
		name    string
		faults  tsim.Faults
		timeout time.Duration
		want    thingspace.ResetOutcome
		applied int // resets the simulator applied
	}{
		{"applied", tsim.Faults{}, 0, thingspace.ResetApplied, 1},
		{"5xx before", tsim.Faults{ResetFailBefore: true}, 0, thingspace.ResetUnknown, 0},
		{"5xx after", tsim.Faults{ResetFailAfter: true}, 0, thingspace.ResetUnknown, 1},
		{"dropped after", tsim.Faults{ResetDropAfter: true}, 0, thingspace.ResetUnknown, 1},
		{"timeout", tsim.Faults{Latency: 300 * time.Millisecond}, 50 * time.Millisecond, thingspace.ResetUnknown, 1},
	}
	for _, tt := range tests {
		for _, proto := range []string{"rest", "soap"} {
			t.Run(tt.name+"/"+proto, func(t *testing.T) {
				env := newSimEnv(t)
				b := env.backends(t)[proto]
				s, err := b.Login(t.Context(), testUser, testPassword)
				if err != nil {
					t.Fatal(err)
				}
				env.faults(t, tt.faults)
				ctx := t.Context()
				if tt.timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.timeout)
					defer cancel()
				}
				res := b.ResetPassword(ctx, s, testPassword)
				if res.Outcome != tt.want {
					t.Fatalf("outcome %v (%v), want %v", res.Outcome, res.Err, tt.want)
				}
				if (res.Outcome == thingspace.ResetApplied) != (res.NewPassword != "") || (res.Outcome == thingspace.ResetApplied) == (res.Err != nil) {
					t.Fatalf("inconsistent result: outcome %v, password set %v, err %v", res.Outcome, res.NewPassword != "", res.Err)
				}
				// The server may still be working after the client gave up.
				deadline := time.Now().Add(2 * time.Second)
				for env.user(t).ResetsApplied < tt.applied && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				u := env.user(t)
				if u.ResetsApplied != tt.applied {
					t.Fatalf("simulator applied %d resets, want %d", u.ResetsApplied, tt.applied)
				}
				if tt.want == thingspace.ResetApplied && u.Password != res.NewPassword.Reveal() {
					t.Fatal("returned password is not the simulator's")
				}
			})
		}
	}
}

func TestResetRejectedWrongOldPassword(t *testing.T) {
	env := newSimEnv(t)
	for name, b := range env.backends(t) {
		t.Run(name, func(t *testing.T) {
			s, err := b.Login(t.Context(), testUser, testPassword)
			if err != nil {
				t.Fatal(err)
			}
			res := b.ResetPassword(t.Context(), s, "Not!TheOldOne1")
			if res.Outcome != thingspace.ResetRejected || thingspace.ClassOf(res.Err) != thingspace.ClassWrongOldPassword {
				t.Fatalf("outcome %v class %v", res.Outcome, thingspace.ClassOf(res.Err))
			}
			if u := env.user(t); u.ResetsApplied != 0 || u.Password != testPassword {
				t.Fatal("a rejected reset changed the password")
			}
		})
	}
}

func TestResetNotSentIsRejected(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil { // nothing listens there now: the dial is refused
		t.Fatal(err)
	}
	b, err := thingspace.NewSOAP(thingspace.SOAPConfig{Endpoint: "http://" + addr + "/api/v2/SessionService.svc"})
	if err != nil {
		t.Fatal(err)
	}
	res := b.ResetPassword(t.Context(), "s", "old")
	if res.Outcome != thingspace.ResetRejected || thingspace.ClassOf(res.Err) != thingspace.ClassTransient {
		t.Fatalf("outcome %v class %v", res.Outcome, thingspace.ClassOf(res.Err))
	}
}

func TestClientResetRetriesOnExpiredSession(t *testing.T) {
	env := newSimEnv(t)
	for name, b := range env.backends(t) {
		t.Run(name, func(t *testing.T) {
			env.sim.SetUser(testUser, testPassword)
			c, _ := newClient(t, b, 2)
			if err := c.Login(t.Context(), cred(testPassword)); err != nil {
				t.Fatal(err)
			}
			before := env.user(t)
			env.faults(t, tsim.Faults{ExpireSessionNext: true})
			res := c.Reset(t.Context(), cred(testPassword))
			if res.Outcome != thingspace.ResetApplied {
				t.Fatalf("outcome %v: %v", res.Outcome, res.Err)
			}
			u := env.user(t)
			if u.LoginsOK-before.LoginsOK != 1 || u.ResetsApplied-before.ResetsApplied != 1 {
				t.Fatalf("%d re-logins and %d resets, want 1 and 1", u.LoginsOK-before.LoginsOK, u.ResetsApplied-before.ResetsApplied)
			}
			// The new password verifies through the guard.
			if err := c.TestLogin(t.Context(), cred(res.NewPassword.Reveal())); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestClientResetNeverRetriesUnknown(t *testing.T) {
	env := newSimEnv(t)
	env.faults(t, tsim.Faults{ResetFailAfter: true})
	c, _ := newClient(t, env.rest(t), 2)
	res := c.Reset(t.Context(), cred(testPassword))
	if res.Outcome != thingspace.ResetUnknown || env.user(t).ResetsApplied != 1 {
		t.Fatalf("outcome %v, applied %d; want unknown after exactly one reset", res.Outcome, env.user(t).ResetsApplied)
	}
}

func TestClientResetGuardRefusedIsRejected(t *testing.T) {
	b := &stubBackend{loginErr: &thingspace.Error{Class: thingspace.ClassInvalidCredentials, Status: 400}}
	c, _ := newClient(t, b, 1)
	if err := c.Login(t.Context(), cred("pw")); thingspace.ClassOf(err) != thingspace.ClassInvalidCredentials {
		t.Fatalf("login: %v, want it refused upstream", err)
	}
	res := c.Reset(t.Context(), cred("pw"))
	if res.Outcome != thingspace.ResetRejected || thingspace.ClassOf(res.Err) != thingspace.ClassGuardRefused {
		t.Fatalf("outcome %v class %v", res.Outcome, thingspace.ClassOf(res.Err))
	}
}
