package web

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/models"
)

// Issue 16.5: removing a mapping takes the access away at once, not at the
// person's next sign-in (up to the 12-hour absolute timeout later); adding
// one gives it at once.
func TestMappingChangesReachSignedInPeopleAtOnce(t *testing.T) {
	t.Parallel()
	ts := newSSOServer(t)
	ctx := context.Background()
	c, _ := signIn(t, ts, "lena", "/")
	if res, _ := do(t, c, http.MethodGet, ts.URL+"/departments/fleet", nil); res.StatusCode != http.StatusOK {
		t.Fatalf("lena cannot open her department: %d", res.StatusCode)
	}
	admin := &models.Principal{Actor: "cli:test", Grants: []models.Grant{{Role: models.RoleAdmin}}}
	list, err := ts.people.Mappings(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	var removed models.Mapping
	for _, m := range list {
		if m.Group == "fleet-leads" {
			removed = m
			if err := ts.people.DeleteMapping(ctx, admin, models.RequestMeta{}, m.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if res, body := do(t, c, http.MethodGet, ts.URL+"/departments/fleet", nil); res.StatusCode != http.StatusForbidden {
		t.Fatalf("lena kept her lead role after the mapping went: %d %.200s", res.StatusCode, body)
	}
	removed.ID = 0
	if _, err := ts.people.CreateMapping(ctx, admin, models.RequestMeta{}, removed); err != nil {
		t.Fatal(err)
	}
	if res, body := do(t, c, http.MethodGet, ts.URL+"/departments/fleet", nil); res.StatusCode != http.StatusOK || strings.Contains(body, "No access yet") {
		t.Fatalf("a new mapping did not reach lena's session: %d", res.StatusCode)
	}
}

func TestGroupRemovedMeansAccessRemovedAtNextSignIn(t *testing.T) {
	t.Parallel()
	ts := newSSOServer(t)
	ctx := context.Background()
	c, _ := signIn(t, ts, "lena", "/")
	if res, body := do(t, c, http.MethodGet, ts.URL+"/", nil); strings.Contains(body, "No access yet") {
		t.Fatalf("lena should have access: %d", res.StatusCode)
	}
	admin := &models.Principal{Actor: "cli:test", Grants: []models.Grant{{Role: models.RoleAdmin}}}
	list, err := ts.people.Mappings(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range list {
		if m.Group == "fleet-leads" {
			if err := ts.people.DeleteMapping(ctx, admin, models.RequestMeta{}, m.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	c, _ = signIn(t, ts, "lena", "/")
	if _, body := do(t, c, http.MethodGet, ts.URL+"/", nil); !strings.Contains(body, "No access yet") {
		t.Fatal("lena kept access after her group mapping was removed")
	}
}
