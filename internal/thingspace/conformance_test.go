package thingspace_test

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/internal/tsim"
)

// target is one implementation of the ThingSpace session service under the
// conformance suite.
type target struct {
	backend  thingspace.Backend
	username string
	password string
	rest     bool
	// sim is nil for the real service: checks that spend lockout attempts or
	// need the simulator's view are skipped there.
	sim *tsim.Server
	// newPasswordFile, when set, allows a reset of the real password; the
	// new password is written there so that the account is not lost.
	allowReset      bool
	newPasswordFile string
}

func TestConformanceSimulator(t *testing.T) {
	for name, proto := range map[string]bool{"rest": true, "soap": false} {
		t.Run(name, func(t *testing.T) {
			env := newSimEnv(t)
			b := thingspace.Backend(env.soap(t))
			if proto {
				b = env.rest(t)
			}
			runConformance(t, target{backend: b, username: testUser, password: testPassword, rest: proto, sim: env.sim, allowReset: true})
		})
	}
}

func TestConformanceRealThingSpace(t *testing.T) {
	get := os.Getenv
	base, key, sec, user, pw := get("THINGSPACE_URL"), get("THINGSPACE_APP_KEY"), get("THINGSPACE_APP_SECRET"),
		get("THINGSPACE_TEST_USERNAME"), get("THINGSPACE_TEST_PASSWORD")
	if base == "" || key == "" || sec == "" || user == "" || pw == "" {
		t.Skip("set THINGSPACE_URL, THINGSPACE_APP_KEY, THINGSPACE_APP_SECRET, THINGSPACE_TEST_USERNAME and THINGSPACE_TEST_PASSWORD to run against a real ThingSpace account")
	}
	b, err := thingspace.NewREST(thingspace.RESTConfig{BaseURL: base, AppKey: key, AppSecret: secret.Secret(sec), Version: "conformance"})
	if err != nil {
		t.Fatal(err)
	}
	tg := target{backend: b, username: user, password: pw, rest: true}
	if get("THINGSPACE_TEST_ALLOW_RESET") == "1" {
		tg.allowReset = true
		tg.newPasswordFile = get("THINGSPACE_TEST_NEW_PASSWORD_FILE")
		if tg.newPasswordFile == "" {
			t.Fatal("THINGSPACE_TEST_ALLOW_RESET=1 needs THINGSPACE_TEST_NEW_PASSWORD_FILE, where the new password is written")
		}
	}
	runConformance(t, tg)
}

func runConformance(t *testing.T, tg target) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	b := tg.backend

	t.Run("login logout", func(t *testing.T) {
		s, err := b.Login(ctx, tg.username, tg.password)
		if err != nil || s == "" {
			t.Fatalf("login: %q, %v", s, err)
		}
		if err := b.Logout(ctx, s); err != nil {
			t.Fatalf("logout: %v", err)
		}
		// The session is gone: using it again says so.
		if err := b.Logout(ctx, s); thingspace.ClassOf(err) != thingspace.ClassSessionExpired {
			t.Fatalf("logout of an ended session: class %v (%v), want session expired", thingspace.ClassOf(err), err)
		}
	})

	t.Run("call", func(t *testing.T) {
		s, err := b.Login(ctx, tg.username, tg.password)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Logout(ctx, s)
		var out struct {
			HasMoreData *bool `json:"hasMoreData"`
		}
		err = b.Call(ctx, s, http.MethodPost, "/api/m2m/v1/devices/actions/list", map[string]any{"accountName": "0000000000-00001"}, &out)
		switch {
		case !tg.rest:
			if thingspace.ClassOf(err) != thingspace.ClassUnsupported {
				t.Fatalf("SOAP call: class %v, want unsupported", thingspace.ClassOf(err))
			}
		case tg.sim != nil && (err != nil || out.HasMoreData == nil):
			t.Fatalf("call: %v, answer %+v", err, out)
		case tg.sim == nil && err != nil && thingspace.ClassOf(err) != thingspace.ClassBadRequest:
			// a real account may not own that account name; anything but a
			// session or bearer failure is acceptable
			t.Fatalf("call: %v", err)
		}
	})

	conformanceWrongPasswords(ctx, t, tg)
	t.Run("reset", func(t *testing.T) {
		if !tg.allowReset {
			t.Skip("set THINGSPACE_TEST_ALLOW_RESET=1 to reset the real password")
		}
		s, err := b.Login(ctx, tg.username, tg.password)
		if err != nil {
			t.Fatal(err)
		}
		res := b.ResetPassword(ctx, s, tg.password)
		if res.Outcome == thingspace.ResetApplied && tg.newPasswordFile != "" {
			if err := os.WriteFile(tg.newPasswordFile, []byte(res.NewPassword.Reveal()+"\n"), 0o600); err != nil {
				t.Fatalf("NEW PASSWORD NOT SAVED (%v): the account needs an administrator", err)
			}
		}
		if res.Outcome != thingspace.ResetApplied || res.NewPassword == "" {
			t.Fatalf("outcome %v, err %v", res.Outcome, res.Err)
		}
		if _, err := b.Login(ctx, tg.username, res.NewPassword.Reveal()); err != nil {
			t.Fatalf("login with the new password: %v", err)
		}
		if tg.sim != nil {
			if c, _ := tg.sim.User(tg.username); c.Password != res.NewPassword.Reveal() || !tsim.MeetsPolicy(c.Password) {
				t.Fatalf("simulator password does not match the returned one or breaks the policy")
			}
			if _, err := b.Login(ctx, tg.username, tg.password); thingspace.ClassOf(err) != thingspace.ClassInvalidCredentials {
				t.Fatalf("old password still works: %v", err)
			}
		}
	})
}

// conformanceWrongPasswords checks refusals; it spends lockout attempts, so
// it runs against the simulator only.
func conformanceWrongPasswords(ctx context.Context, t *testing.T, tg target) {
	b := tg.backend
	if tg.sim == nil {
		t.Log("wrong-password checks skipped against the real service: they would spend lockout attempts")
	} else {
		t.Run("wrong password", func(t *testing.T) {
			_, err := b.Login(ctx, tg.username, tg.password+"x")
			if thingspace.ClassOf(err) != thingspace.ClassInvalidCredentials {
				t.Fatalf("class %v (%v), want invalid credentials", thingspace.ClassOf(err), err)
			}
			// Clear the failure so later checks start from zero.
			if _, err := b.Login(ctx, tg.username, tg.password); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("wrong old password", func(t *testing.T) {
			s, err := b.Login(ctx, tg.username, tg.password)
			if err != nil {
				t.Fatal(err)
			}
			res := b.ResetPassword(ctx, s, tg.password+"x")
			if res.Outcome != thingspace.ResetRejected || thingspace.ClassOf(res.Err) != thingspace.ClassWrongOldPassword {
				t.Fatalf("outcome %v class %v, want rejected / wrong old password", res.Outcome, thingspace.ClassOf(res.Err))
			}
		})
	}
}
