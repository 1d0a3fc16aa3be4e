package notify_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/notify/channel"
	"github.com/uwsportal/uwsportal/internal/notify/channel/channeltest"
	"github.com/uwsportal/uwsportal/models"
)

// Every event reaches every channel (and person) it is meant for exactly
// once, while two instances send side by side; nothing secret is in any
// message.
func TestEachEventReachesItsChannelsOnceAcrossInstances(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	hook := channeltest.NewReceiver(t, nil) // secret known after add; checked below
	slack, teams := channeltest.NewReceiver(t, nil), channeltest.NewReceiver(t, nil)
	a := w.a

	a.Seed("fleet", "fleetuser", models.ProtocolREST)
	a.SeedWrong("yard", "yarduser")
	a.Seed("dock", "dockuser", models.ProtocolREST)
	madeHook := w.add(models.ChannelWebhook, hook.URL+"/hooks/uwsportal", "", "")
	slackURL := slack.URL + "/services/T0001/B0001/sl4ckT0kenSecret"
	w.add(models.ChannelSlack, slackURL, "yard", "")
	w.add(models.ChannelTeams, teams.URL+"/workflows/te4msSig", "", "break-glass")
	w.add(models.ChannelEmail, "ops@example.com", "", "rotated")
	lea := w.person("lea", "lea@example.com", models.Grant{Role: models.RoleLead, Department: "fleet"})
	w.person("bob", "bob@example.com", models.Grant{Role: models.RoleLead, Department: "fleet"})
	w.person("yan", "yan@example.com", models.Grant{Role: models.RoleLead, Department: "yard"})
	w.person("mo", "mo@example.com", models.Grant{Role: models.RoleMember, Department: "fleet"})
	w.person("ada", "ada@example.com", models.Grant{Role: models.RoleAdmin})
	w.person("nomail", "", models.Grant{Role: models.RoleLead, Department: "fleet"})

	w.causeOneOfEach(lea.ID)
	w.drain()

	hookWant := map[string]int{"rotated fleet": 1, "quarantined yard": 1, "break-glass ": 1, "due dock": 1,
		"approval-requested fleet": 1, "approval-decided fleet": 1}
	checkOnce(t, "webhook", hook.Received(), hookWant)
	checkOnce(t, "slack", slack.Received(), nil)
	if got := len(slack.Received()); got != 1 || !strings.Contains(string(slack.Received()[0].Body), "quarantined") {
		t.Errorf("slack (yard only) got %d messages: %v", got, slack.Received())
	}
	if got := teams.Received(); len(got) != 1 || !strings.Contains(string(got[0].Body), "Break-glass") {
		t.Errorf("teams (break-glass only) got %v", got)
	}
	mails := mailsTo(w.mail.Messages())
	want := map[string]int{"ops@example.com": 1, "lea@example.com": 2, "bob@example.com": 3, "yan@example.com": 1, "ada@example.com": 1}
	for to, n := range want {
		if len(mails[to]) != n {
			t.Errorf("%s got %d mails, want %d: %q", to, len(mails[to]), n, mails[to])
		}
	}
	if len(mails) != len(want) {
		t.Errorf("mail went to %v, want exactly %v", slices.Sorted(maps.Keys(mails)), slices.Sorted(maps.Keys(want)))
	}
	for _, m := range w.mail.Messages() {
		if !m.TLS {
			t.Errorf("mail to %v was sent without STARTTLS", m.To)
		}
	}

	// Signatures: every webhook request verifies with the secret shown once.
	for _, r := range hook.Received() {
		if err := channel.Verify([]byte(madeHook.SigningSecret), r.Header, r.Body, time.Now(), 0); err != nil {
			t.Errorf("webhook %s: %v", r.Header.Get("X-Uwsportal-Delivery"), err)
		}
	}

	noSecretIn(t, [][]channeltest.Request{hook.Received(), slack.Received(), teams.Received()}, w.mail.Messages(),
		string(apptest.GoodPW), a.Stored("fleet"), "Upstream-Kn0ws!Better", madeHook.SigningSecret, "sl4ckT0kenSecret", "te4msSig")
	a.NoLeak(madeHook.SigningSecret, "sl4ckT0kenSecret", "te4msSig")
	if n := w.state(`SELECT count(*) FROM notify_deliveries WHERE state <> 'sent'`); n != 0 {
		t.Errorf("%d deliveries not sent", n)
	}
}

// checkOnce fails if a delivery id repeats or the counts differ from want
// (nil: only the repeat check).
func checkOnce(t *testing.T, name string, reqs []channeltest.Request, want map[string]int) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range reqs {
		id := r.Header.Get("X-Uwsportal-Delivery")
		if seen[id] {
			t.Errorf("%s: delivery %s arrived twice", name, id)
		}
		seen[id] = true
	}
	if want == nil {
		return
	}
	got := byEvent(reqs)
	if !maps.Equal(got, want) {
		t.Errorf("%s got %v, want %v", name, got, want)
	}
}

// causeOneOfEach makes fleet rotate, yard quarantine, a break-glass
// sign-in, an approval requested by lea and approved, and dock due.
func (w *world) causeOneOfEach(lea int64) {
	t := w.t
	t.Helper()
	// The causes, each through its own path.
	if _, err := w.a.App.Rotation.Rotate(context.Background(), w.a.Admin, apptest.Meta, "fleet", models.TriggerManual); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if res, err := w.a.App.Departments.TestLogin(context.Background(), w.a.Admin, apptest.Meta, "yard"); err != nil || res.OK {
			t.Fatalf("a test login with the wrong password: %+v %v", res, err)
		}
	}
	if got := apptest.Only(w.a.Events("yard"), models.EvQuarantined); len(got) != 1 {
		t.Fatalf("yard was not quarantined: %v", w.a.Events("yard"))
	}
	w.audit(models.EvBreakGlassSucceeded, "", "username", "root")
	w.audit(models.EvApprovalRequested, "fleet", "approval_id", 7, "action", "reveal", "requester", lea,
		"requester_name", "Lea", "reason", "audit of the SIM inventory")
	w.audit(models.EvApprovalApproved, "fleet", "approval_id", 7, "action", "reveal", "requester", lea, "requester_name", "Lea")
	w.a.Age("dock", 85*24*time.Hour)

}

// noSecretIn fails if any secret is in any request body or mail.
func noSecretIn(t *testing.T, reqs [][]channeltest.Request, mails []channeltest.Mail, secrets ...string) {
	t.Helper()
	var all []string
	for _, rr := range reqs {
		for _, r := range rr {
			all = append(all, string(r.Body))
		}
	}
	for _, m := range mails {
		all = append(all, string(m.Data))
	}
	text := strings.Join(all, "\n")
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("a notification carries a secret (%d chars)", len(s))
		}
	}
}
