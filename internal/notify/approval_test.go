package notify_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/approvals"
	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/models"
)

// Dual control through notifications: a request reaches the approvers (the
// department's other leads, the admins) and not its requester; the
// decision and an expiry reach the requester.
func TestApprovalRequestsReachApproversAndDecisionsTheRequester(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	a := w.a
	a.Seed("fleet", "fleetuser", models.ProtocolREST)
	if err := a.App.Departments.UpdateSettings(ctx, a.Admin, apptest.Meta, "fleet", models.DepartmentSettings{Name: "Fleet",
		Protocol: models.ProtocolREST, RevealAllowed: true, Approvals: models.ApprovalRules{Reveal: true}}); err != nil {
		t.Fatal(err)
	}
	lead := models.Grant{Role: models.RoleLead, Department: "fleet"}
	lea, bob := w.person("lea", "lea@example.com", lead), w.person("bob", "bob@example.com", lead)
	w.person("ada", "ada@example.com", models.Grant{Role: models.RoleAdmin})
	w.person("mo", "mo@example.com", models.Grant{Role: models.RoleMember, Department: "fleet"})
	as := func(u models.User) *models.Principal {
		return &models.Principal{UserID: u.ID, Actor: strconv.FormatInt(u.ID, 10), Name: u.Name, Grants: []models.Grant{lead}}
	}

	req, err := a.App.Approvals.Request(ctx, as(lea), apptest.Meta, approvals.Ask{Department: "fleet", Action: models.ApproveReveal,
		Reason: "ticket OPS-42: audit"})
	if err != nil {
		t.Fatal(err)
	}
	w.drain()
	got := mailsTo(w.mail.Messages())
	if len(got["bob@example.com"]) != 1 || len(got["ada@example.com"]) != 1 || len(got["lea@example.com"]) != 0 || len(got["mo@example.com"]) != 0 {
		t.Fatalf("after the request: %v", got)
	}
	if !strings.Contains(got["bob@example.com"][0], "asks to reveal in fleet") {
		t.Fatalf("subject %q", got["bob@example.com"][0])
	}
	if _, err := a.App.Approvals.Decide(ctx, as(bob), apptest.Meta, req.ID, true, "fine"); err != nil {
		t.Fatal(err)
	}
	w.drain()
	got = mailsTo(w.mail.Messages())
	if len(got["lea@example.com"]) != 1 || !strings.Contains(got["lea@example.com"][0], "approved") {
		t.Fatalf("the requester was not told of the approval: %v", got)
	}

	// An approval nobody uses within the window expires, and so does a
	// request nobody decides; the requester hears of both.
	a.Clock.Advance(2 * time.Hour)
	if n, err := a.App.Approvals.ExpireDue(ctx); err != nil || n != 1 {
		t.Fatalf("expire the unused approval: %d %v", n, err)
	}
	if _, err := a.App.Approvals.Request(ctx, as(lea), apptest.Meta, approvals.Ask{Department: "fleet", Action: models.ApproveReveal,
		Reason: "ticket OPS-43: again"}); err != nil {
		t.Fatal(err)
	}
	a.Clock.Advance(25 * time.Hour)
	if n, err := a.App.Approvals.ExpireDue(ctx); err != nil || n < 1 {
		t.Fatalf("expire: %d %v", n, err)
	}
	w.drain()
	got = mailsTo(w.mail.Messages())
	if m := got["lea@example.com"]; len(m) != 3 || !strings.Contains(m[1], "expired") || !strings.Contains(m[2], "expired") {
		t.Fatalf("the requester was not told of the expiry: %q", got["lea@example.com"])
	}
}
