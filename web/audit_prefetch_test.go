package web

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// The audit page searches beside the session's read for a person who read
// the whole trail at their last request, and a hint gone stale (the person
// since made a lead) shows nothing beyond what they may read now.

// auditPrefetchServer is a wired portal whose trail holds one event of
// department alpha and one of beta, and a signed-in person of subject
// "watcher" with grants (re-granted by regrant).
func auditPrefetchServer(t *testing.T, grants ...models.Grant) (ts *testServer, wire *store.RoundTrips, c *http.Client, regrant func(...models.Grant)) {
	t.Helper()
	ts, wire = newWiredTestServer(t, testdb.New(t), nil)
	ctx := context.Background()
	signIn := func(grants ...models.Grant) (u models.User) {
		err := ts.DB.WithTx(ctx, func(tx *store.Tx) error {
			var err error
			u, err = ts.DB.UpsertSignIn(ctx, tx, models.User{Issuer: "test", Subject: "watcher", Name: "Watcher", Grants: grants}, time.Now())
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	u := signIn(grants...)
	err := ts.DB.WithTx(ctx, func(tx *store.Tx) error {
		for _, dept := range []string{"alpha", "beta"} {
			e := models.NewEvent(models.EvDeviceList, &models.Principal{Actor: "system"}, models.RequestMeta{})
			e.Department, e.Target = dept, "device-of-"+dept
			if err := ts.DB.Audit(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ts, wire, ts.sessionClient(t, u.ID), func(g ...models.Grant) { signIn(g...) }
}

// auditPageOf asks for the audit page of events whose code starts with
// device.list and returns its body.
func auditPageOf(t *testing.T, ts *testServer, c *http.Client) func() string {
	return func() string {
		t.Helper()
		res, body := do(t, c, http.MethodGet, ts.URL+"/audit?event=device.list", nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("audit page: %d %.300s", res.StatusCode, body)
		}
		return body
	}
}

// searches are the audit searches among what was sent (each noted by its
// first words).
func searches(sent []string) []int {
	var at []int
	for i, s := range sent {
		if strings.HasPrefix(s, "SELECT id, occurred_at, code, actor") {
			at = append(at, i)
		}
	}
	return at
}

func TestAuditPageSearchesBesideTheSession(t *testing.T) {
	t.Parallel()
	ts, wire, auditor, _ := auditPrefetchServer(t, models.Grant{Role: models.RoleAuditor})
	page := auditPageOf(t, ts, auditor)
	page() // the first request here notes that the session's person reads the whole trail
	wire.HoldUntil("FROM (VALUES (1)) AS one", "FROM audit_events WHERE")
	var body string
	sent := wire.Count(func() { body = page() })
	session := slices.IndexFunc(sent, func(s string) bool { return strings.HasPrefix(s, "SELECT s.data, p.id") })
	found := searches(sent)
	if session < 0 || len(found) != 1 || found[0] > session {
		t.Fatalf("the search (at %v) did not go out once, before the session's read was answered (at %d):\n%s", found, session, strings.Join(sent, "\n"))
	}
	if !strings.Contains(body, "device-of-alpha") || !strings.Contains(body, "device-of-beta") {
		t.Fatalf("the auditor's page lacks a department's event: %.2000s", body)
	}
}

func TestAStaleAuditHintShowsNoMore(t *testing.T) {
	t.Parallel()
	ts, wire, c, regrant := auditPrefetchServer(t, models.Grant{Role: models.RoleAuditor})
	page := auditPageOf(t, ts, c)
	page() // the hint: this session's person reads the whole trail
	regrant(models.Grant{Role: models.RoleLead, Department: "alpha"})
	// The session's read waits for the search read ahead to go out: else a
	// page answered quickly enough is written before that search is sent.
	wire.HoldUntil("FROM (VALUES (1)) AS one", "FROM audit_events WHERE")
	var body string
	sent := wire.Count(func() { body = page() })
	// The search read ahead went out (the hint said so) and was dropped
	// for one within the lead's departments.
	if found := searches(sent); len(found) != 2 {
		t.Fatalf("%d searches, not the one read ahead and the lead's own:\n%s", len(found), strings.Join(sent, "\n"))
	}
	if !strings.Contains(body, "device-of-alpha") || strings.Contains(body, "device-of-beta") {
		t.Fatalf("the lead of alpha is not shown alpha's event alone: %.2000s", body)
	}
	// The hint now says the person reads part of the trail: nothing is
	// read ahead for them.
	if found := searches(wire.Count(func() { page() })); len(found) != 1 {
		t.Fatalf("%d searches for a lead's page, not one", len(found))
	}
}
