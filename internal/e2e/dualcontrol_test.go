package e2e

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/uwsportal/uwsportal/internal/notify/channel"
	"github.com/uwsportal/uwsportal/internal/notify/channel/channeltest"
)

// dualControlJourney: alice adds a signed webhook and puts fleet's reveal
// under dual control; lena asks, alice approves, lena reveals once. The
// webhook and the mailbox hear of the request and the decision, signed,
// with nothing secret in them.
func dualControlJourney(t *testing.T, s *stack, alice, lena *persona) {
	hook := channeltest.NewReceiver(t, nil)
	// The receiver listens on loopback, which channels reach only once an
	// admin allows the network by name.
	alice.open(t, "/admin/notifications", "#network-form")
	alice.do(t, "allow the receiver's network",
		chromedp.SendKeys(chromedp.CSS(`#network-form input[name="name"]`), "test receivers"),
		chromedp.SendKeys(chromedp.CSS(`#network-form input[name="network"]`), "127.0.0.0/8"),
		chromedp.Click(chromedp.CSS(`#network-form button[type="submit"]`)))
	alice.waitFor(t, "the allowed network", `document.getElementById("network-list") !== null`)
	alice.open(t, "/admin/notifications", "#channel-form")
	alice.do(t, "add a webhook for approvals",
		chromedp.SetValue(chromedp.ID("channel-kind"), "webhook"),
		chromedp.SendKeys(chromedp.ID("channel-target"), hook.URL+"/uwsportal"),
		chromedp.Click(chromedp.CSS(`#channel-form input[value="approval-requested"]`)),
		chromedp.Click(chromedp.CSS(`#channel-form input[value="approval-decided"]`)),
		chromedp.Click(chromedp.CSS(`#channel-form button[type="submit"]`)))
	alice.waitFor(t, "the signing secret", `document.getElementById("signing-secret-value") !== null`)
	signing := alice.text(t, "signing-secret-value")
	if !regexp.MustCompile(`^whsec_[A-Za-z0-9_-]{40,}$`).MatchString(signing) {
		t.Fatalf("the signing secret shown is %q", signing)
	}
	s.secrets.add("webhook signing secret", signing)
	s.secrets.shownOnce("webhook signing secret", "alice", "/admin/notifications")

	alice.open(t, "/departments/fleet", "#approve-reveal")
	get(t, alice, "allow reveal under dual control", chromedp.Evaluate[bool](`document.querySelector('input[name="reveal_allowed"]').checked = true;
		document.getElementById("approve-reveal").checked = true`))
	alice.do(t, "save the settings", chromedp.Click(chromedp.ID("settings-save")))
	alice.waitFor(t, "the saved settings", `document.querySelector("main .flash.success") !== null && document.getElementById("approve-reveal").checked`)

	lena.open(t, "/departments/fleet/reveal", "#approval-needed")
	lena.do(t, "ask for approval", chromedp.SendKeys(chromedp.ID("approval-reason"), "ticket OPS-77: re-enter the password in the SIM tool"))
	lena.click(t, "approval-request", "approval-state")
	if st := lena.text(t, "approval-state"); st != "pending" {
		t.Fatalf("lena's new request is %q", st)
	}

	alice.open(t, "/approvals", "#to-decide")
	alice.do(t, "open lena's request", chromedp.Click(chromedp.CSS(`#to-decide a[href^="/approvals/"]`)), chromedp.WaitVisible(chromedp.ID("approve")))
	// The request's page already shows its state: wait for the new one.
	alice.do(t, "approve", chromedp.Click(chromedp.ID("approve")))
	alice.waitFor(t, "the approved request", `(document.getElementById("approval-state") || {textContent: ""}).textContent.trim() === "approved"`)

	lena.open(t, "/departments/fleet/reveal", "#approval-approved")
	lena.click(t, "reveal-confirm", "revealed")
	c, _ := s.sim.User(fleetUWSUser)
	if got := lena.text(t, "revealed"); got != c.Password {
		t.Fatal("the revealed password is not ThingSpace's")
	}
	s.secrets.shownOnce("rotated UWS password", "lena", "/departments/fleet/reveal")
	lena.open(t, "/departments/fleet/reveal", "#approval-needed") // spent: ask again
	checkApprovalNotices(t, s, hook, signing)
}

// checkApprovalNotices waits for the webhook and the mails the approval
// caused, and checks their signatures and that nothing secret is in them.
func checkApprovalNotices(t *testing.T, s *stack, hook *channeltest.Receiver, signing string) {
	reqs := hook.WaitFor(t, 2, 20*time.Second)
	var events []string
	for _, r := range reqs {
		if err := channel.Verify([]byte(signing), r.Header, r.Body, time.Now(), 0); err != nil {
			t.Errorf("webhook signature: %v", err)
		}
		events = append(events, r.Header.Get(channel.HeaderEvent))
	}
	slices.Sort(events)
	if !slices.Equal(events, []string{"approval-decided", "approval-requested"}) {
		t.Errorf("the webhook got %v", events)
	}
	deadline := time.Now().Add(20 * time.Second)
	var toAlice, toLena []string
	for time.Now().Before(deadline) && (len(toAlice) == 0 || !slices.ContainsFunc(toLena, isApproved)) {
		time.Sleep(200 * time.Millisecond)
		toAlice, toLena = nil, nil
		for _, m := range s.mail.Messages() {
			for _, to := range m.To {
				switch to {
				case "alice@example.com":
					toAlice = append(toAlice, m.Subject)
				case "lena@example.com":
					toLena = append(toLena, m.Subject)
				}
			}
		}
	}
	if !slices.ContainsFunc(toAlice, func(s string) bool { return strings.Contains(s, "asks to reveal in fleet") }) {
		t.Errorf("alice, an approver, was not mailed the request: %q", toAlice)
	}
	if !slices.ContainsFunc(toLena, isApproved) || slices.ContainsFunc(toLena, func(s string) bool { return strings.Contains(s, "asks to") }) {
		t.Errorf("lena's mail: %q (want the approval, not her own request)", toLena)
	}
	var all []string
	for _, r := range reqs {
		all = append(all, string(r.Body))
	}
	for _, m := range s.mail.Messages() {
		all = append(all, string(m.Data))
	}
	text := strings.Join(all, "\n")
	for v, label := range s.secrets.all() {
		if strings.Contains(text, v) {
			t.Errorf("a notification contains the %s", label)
		}
	}
}

func isApproved(subject string) bool { return strings.Contains(subject, "reveal in fleet approved") }
