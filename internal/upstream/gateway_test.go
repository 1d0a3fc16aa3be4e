package upstream_test

import (
	"context"
	"testing"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/tsim"
	"github.com/uwsportal/uwsportal/models"
)

// Issue 13, path 5: a 401 of any body is the bearer token's problem (drop
// it, fetch one, retry once) and never a failed login; gateway throttling
// is never one either. Nothing is quarantined.
func TestGatewayAnswersAreNeverFailedLogins(t *testing.T) {
	t.Parallel()
	for _, body := range []string{tsim.Unauthorized401Empty, tsim.Unauthorized401HTML, tsim.Unauthorized401InvalidToken} {
		t.Run("401 "+body, func(t *testing.T) {
			t.Parallel()
			e := apptest.New(t, apptest.Options{})
			e.Seed("fleet", "fleet_uws", models.ProtocolREST)
			if err := e.Sim.SetFaults("fleet_uws", tsim.Faults{Unauthorized401Next: body}); err != nil {
				t.Fatal(err)
			}
			res, err := e.App.Departments.TestLogin(context.Background(), e.Admin, apptest.Meta, "fleet")
			if err != nil || !res.OK {
				t.Fatalf("the login after a fresh token: %+v %v", res, err)
			}
			if row := e.Row("fleet"); row.ConsecutiveFailures != 0 || row.State != "idle" {
				t.Fatalf("row %+v", row)
			}
		})
	}
	t.Run("429", func(t *testing.T) {
		t.Parallel()
		e := apptest.New(t, apptest.Options{})
		e.Seed("fleet", "fleet_uws", models.ProtocolREST)
		if err := e.Sim.SetFaults("fleet_uws", tsim.Faults{Throttle: true}); err != nil {
			t.Fatal(err)
		}
		for range 6 {
			if res, err := e.App.Departments.TestLogin(context.Background(), e.Admin, apptest.Meta, "fleet"); err == nil && res.OK {
				t.Fatal("a throttled login worked")
			}
		}
		if row := e.Row("fleet"); row.ConsecutiveFailures != 0 || row.FailuresSinceSuccess != 0 || row.State != "idle" {
			t.Fatalf("throttling was counted: %+v", row)
		}
	})
}
