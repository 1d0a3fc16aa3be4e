package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

// leadOn signs in a fresh lead of fleet on instance a, with the session
// cookie given to b too; it returns the browser and the user's id.
func leadOn(t *testing.T, a, b *testServer) (*http.Client, int64) {
	t.Helper()
	ctx := context.Background()
	var user models.User
	err := a.DB.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		user, err = a.DB.UpsertSignIn(ctx, tx, models.User{Issuer: "test", Subject: fmt.Sprint("lead", userSeq.Add(1)), Name: "Lead",
			Grants: []models.Grant{{Role: models.RoleLead, Department: "fleet"}}}, time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	c := a.sessionClient(t, user.ID)
	c.Jar.SetCookies(mustURL(b.URL), c.Jar.Cookies(mustURL(a.URL)))
	// Two pages on a: the session's person is then read with the session.
	for range 2 {
		if res, body := do(t, c, http.MethodGet, a.URL+"/departments/fleet/devices", nil); res.StatusCode != http.StatusOK {
			t.Fatalf("devices page on a: %d %.200s", res.StatusCode, body)
		}
	}
	return c, user.ID
}

// What changes on one instance takes effect on the other's next request,
// with the session read together with its person (issue 27): a role taken
// away, a disabled user, a device policy, a sign-out.
func TestChangesOnOneInstanceTakeEffectOnTheOthersNextRequest(t *testing.T) {
	t.Parallel()
	a, _, _ := devicesServer(t)
	b := newTestServer(t, a.DB, map[string]string{"THINGSPACE_URL": a.cfg.ThingSpaceURL, "THINGSPACE_APP_KEY": "k", "THINGSPACE_APP_SECRET": "s"})
	ctx := context.Background()
	admin := &models.Principal{Actor: "cli:test", Name: "test", Grants: []models.Grant{{Role: models.RoleAdmin}}}
	devicesOnA := func(c *http.Client) int {
		t.Helper()
		res, _ := do(t, c, http.MethodGet, a.URL+"/departments/fleet/devices", nil)
		return res.StatusCode
	}

	c, uid := leadOn(t, a, b)
	err := b.DB.WithTx(ctx, func(tx *store.Tx) error { return b.DB.SetGroups(ctx, tx, uid, nil, nil) })
	if err != nil {
		t.Fatal(err)
	}
	if got := devicesOnA(c); got != http.StatusForbidden {
		t.Errorf("after the role was taken away on b, a answers %d", got)
	}

	c, uid = leadOn(t, a, b)
	if err := b.people.SetUserDisabled(ctx, admin, models.RequestMeta{}, uid, true); err != nil {
		t.Fatal(err)
	}
	if got := devicesOnA(c); got != http.StatusSeeOther {
		t.Errorf("after the user was disabled on b, a answers %d", got)
	}

	c, _ = leadOn(t, a, b)
	if res, _ := b.post(t, c, "/auth/logout", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out on b: %d", res.StatusCode)
	}
	res, _ := do(t, c, http.MethodGet, a.URL+"/departments/fleet/devices", nil)
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/auth/login") {
		t.Errorf("after sign-out on b, a answers %d %q", res.StatusCode, loc)
	}

	c, _ = leadOn(t, a, b)
	if err := b.devices.SetPolicy(ctx, admin, models.RequestMeta{}, "fleet", models.DevicePolicy{models.RoleAdmin: {models.OpList}}); err != nil {
		t.Fatal(err)
	}
	if got := devicesOnA(c); got != http.StatusForbidden {
		t.Errorf("after the device policy changed on b, a answers %d", got)
	}
}
