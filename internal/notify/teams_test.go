package notify_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/approvals"
	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/notify/channel/channeltest"
	"github.com/uwsportal/uwsportal/models"
)

// markdownTexts collects the strings of a Teams card that Adaptive Cards
// read as Markdown: a TextBlock's text, a FactSet's titles and values.
func markdownTexts(v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		switch x["type"] {
		case "TextBlock":
			s, _ := x["text"].(string)
			*out = append(*out, s)
		case "FactSet":
			facts, _ := x["facts"].([]any)
			for _, f := range facts {
				m, _ := f.(map[string]any)
				t, _ := m["title"].(string)
				val, _ := m["value"].(string)
				*out = append(*out, t, val)
			}
		}
		for _, c := range x {
			markdownTexts(c, out)
		}
	case []any:
		for _, c := range x {
			markdownTexts(c, out)
		}
	}
}

// A requester's reason and an approver's note reach a Teams channel as
// plain text: they cannot plant a link in the approvers' channel.
func TestTeamsCardsCannotCarryARequestersLink(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	a := w.a
	a.Seed("fleet", "fleetuser", models.ProtocolREST)
	if err := a.App.Departments.UpdateSettings(ctx, a.Admin, apptest.Meta, "fleet", models.DepartmentSettings{Name: "Fleet",
		Protocol: models.ProtocolREST, RevealAllowed: true, Approvals: models.ApprovalRules{Reveal: true}}); err != nil {
		t.Fatal(err)
	}
	teams := channeltest.NewReceiver(t, nil)
	w.add(models.ChannelTeams, teams.URL+"/workflows/t", "fleet", "approval-requested,approval-decided")
	lead := models.Grant{Role: models.RoleLead, Department: "fleet"}
	lea, bob := w.person("lea", "", lead), w.person("bob", "", lead)
	as := func(u models.User) *models.Principal {
		return &models.Principal{UserID: u.ID, Actor: strconv.FormatInt(u.ID, 10), Name: u.Name, Grants: []models.Grant{lead}}
	}
	const link = "[Approve here](https://evil.example/approve)"
	req, err := a.App.Approvals.Request(ctx, as(lea), apptest.Meta, approvals.Ask{Department: "fleet", Action: models.ApproveReveal,
		Reason: "urgent: " + link})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.App.Approvals.Decide(ctx, as(bob), apptest.Meta, req.ID, true, "see "+link); err != nil {
		t.Fatal(err)
	}
	w.drain()
	got := teams.Received()
	if len(got) != 2 {
		t.Fatalf("teams got %d messages, want the request and the decision", len(got))
	}
	for _, r := range got {
		var card any
		if err := json.Unmarshal(r.Body, &card); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(r.Body), "evil.example") {
			t.Fatalf("the message lost the requester's words: %s", r.Body)
		}
		var md []string
		markdownTexts(card, &md)
		for _, s := range md {
			if strings.Contains(s, "](") || strings.Contains(s, "evil.example") {
				t.Fatalf("a Markdown text of the card carries the link: %q", s)
			}
		}
	}
}
