package notify_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/notify"
	"github.com/uwsportal/uwsportal/internal/notify/channel/channeltest"
	"github.com/uwsportal/uwsportal/models"
)

// A receiver that fails twice gets the message on the third attempt, once;
// the channel is not flagged for two failures but is for three in a row,
// and a success clears the flag.
func TestRetriesSurviveAReceiverThatFailsTwice(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	hook := channeltest.NewReceiver(t, nil)
	made := w.add(models.ChannelWebhook, hook.URL, "", "break-glass")
	hook.FailNext(2)
	w.audit(models.EvBreakGlassSucceeded, "", "username", "root")

	for attempt := 1; attempt <= 2; attempt++ {
		w.drain()
		if n := len(hook.Received()); n != 0 {
			t.Fatalf("attempt %d: received %d", attempt, n)
		}
		if got := w.state(`SELECT attempts FROM notify_deliveries`); got != attempt {
			t.Fatalf("attempts %d, want %d", got, attempt)
		}
		w.drain() // not due yet: nothing is resent early
		if got := hook.Attempts(); got != attempt {
			t.Fatalf("the receiver saw %d requests after %d failures: a retry came before its back-off", got, attempt)
		}
		w.a.Clock.Advance(2 * time.Hour)
	}
	if failing, err := w.a.App.Notify.Failing(context.Background()); err != nil || len(failing) != 0 {
		t.Fatalf("two failures flagged the channel: %+v %v", failing, err)
	}
	w.drain()
	if got := hook.Received(); len(got) != 1 || got[0].Header.Get("X-Uwsportal-Delivery") == "" {
		t.Fatalf("after two failures: %d messages", len(got))
	}
	if got := w.state(`SELECT consecutive_failures FROM notify_channels WHERE id = $1`, made.Channel.ID); got != 0 {
		t.Fatalf("a success left %d failures on the channel", got)
	}

	// Three failures in a row flag the channel on the dashboard's health.
	hook.FailNext(3)
	w.audit(models.EvBreakGlassSucceeded, "", "username", "root")
	for range 3 {
		w.drain()
		w.a.Clock.Advance(2 * time.Hour)
	}
	failing, err := w.a.App.Notify.Failing(context.Background())
	if err != nil || len(failing) != 1 || !strings.Contains(failing[0].LastError, "500") {
		t.Fatalf("three failures in a row: %+v %v", failing, err)
	}
	w.drain()
	if failing, err := w.a.App.Notify.Failing(context.Background()); err != nil || len(failing) != 0 || len(hook.Received()) != 2 {
		t.Fatalf("after recovery: failing %+v (%v), received %d", failing, err, len(hook.Received()))
	}
}

// A receiver's 4xx (other than 408 and 429) is final: no retry storm.
func TestPermanentFailureIsNotRetried(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	hook := channeltest.NewReceiver(t, nil)
	w.add(models.ChannelWebhook, hook.URL, "", "")
	hook.FailNextWith(1, 404)
	w.audit(models.EvBreakGlassSucceeded, "", "username", "root")
	w.drain()
	w.a.Clock.Advance(24 * time.Hour)
	w.drain()
	if got := hook.Attempts(); got != 1 {
		t.Fatalf("a 404 was tried %d times", got)
	}
	if got := w.state(`SELECT count(*) FROM notify_deliveries WHERE state = 'failed'`); got != 1 {
		t.Fatalf("%d failed deliveries", got)
	}
}

// The outbox survives a restart: a message written while no worker ran is
// sent by a portal started afterwards; a message whose sender died after
// claiming it is sent by another instance once the lease ends.
func TestOutboxSurvivesRestartAndADeadSender(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	hook := channeltest.NewReceiver(t, nil)
	w.add(models.ChannelWebhook, hook.URL, "", "")
	w.audit(models.EvBreakGlassSucceeded, "", "username", "first")

	// "Restart": the first instance never ran a worker; a new one, on a
	// pool of its own, finds the message.
	fresh := w.a.Second(apptest.OpenDB(t, w.url))
	if _, err := fresh.App.Notify.NewWorker(notify.WorkerOptions{}).Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(hook.Received()); n != 1 {
		t.Fatalf("after the restart %d messages", n)
	}

	// A sender claims a message and dies before sending.
	w.audit(models.EvBreakGlassSucceeded, "", "username", "second")
	if _, err := w.a.DB.FanOut(context.Background(), w.a.Clock.Now(), 10, false); err != nil {
		t.Fatal(err)
	}
	claimed, err := w.a.DB.ClaimDeliveries(context.Background(), w.a.Clock.Now(), time.Minute, 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %d %v", len(claimed), err)
	}
	w.drain()
	if n := len(hook.Received()); n != 1 {
		t.Fatalf("a leased message was sent by another instance before the lease ended (%d)", n)
	}
	w.a.Clock.Advance(2 * time.Minute)
	w.drain()
	if got := hook.Received(); len(got) != 2 || got[1].JSON["subject"] != "Break-glass sign-in by second" {
		t.Fatalf("the dead sender's message: %d received", len(got))
	}
	// The dead sender wakes and records its stale claim: nothing changes.
	if err := w.a.DB.DeliverySent(context.Background(), claimed[0].ID, claimed[0].Attempt, w.a.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	if got := w.state(`SELECT attempts FROM notify_deliveries WHERE id = $1`, claimed[0].ID); got != 2 {
		t.Fatalf("attempts %d after the takeover", got)
	}
}

// Bad input is refused with a clear message and changes nothing.
func TestAddRefusesBadInput(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{}) // no SMTP server configured
	e.SeedDept("fleet", models.ProtocolREST, false)
	ctx := context.Background()
	cases := []struct {
		in   notify.AddInput
		want string
	}{
		{notify.AddInput{Kind: "pager", Target: "https://example.com/x"}, "unknown channel kind"},
		{notify.AddInput{Kind: "slack", Target: "ftp://hooks.example.com/x"}, "http"},
		{notify.AddInput{Kind: "slack", Target: "http://hooks.slack.com/services/x"}, "https"},
		{notify.AddInput{Kind: "webhook", Target: "https://user:pw@example.com/x"}, ""},
		{notify.AddInput{Kind: "webhook", Target: "https://example.com/x", Events: "rotated,nap"}, "unknown notification event"},
		{notify.AddInput{Kind: "webhook", Target: "https://example.com/x", Department: "nope"}, "No department"},
		{notify.AddInput{Kind: "email", Target: "ops@example.com"}, "SMTP"},
		{notify.AddInput{Kind: "email", Target: "Ops <ops@example.com>"}, ""},
	}
	for _, c := range cases {
		_, err := e.App.Notify.Add(ctx, e.Admin, apptest.Meta, c.in)
		msg, safe := models.SafeMessage(err)
		if err == nil || !safe || !strings.Contains(msg, c.want) {
			t.Errorf("%+v: got %v, want a message with %q", c.in, err, c.want)
		}
	}
	lead := &models.Principal{UserID: 9, Actor: "9", Name: "Lea", Grants: []models.Grant{{Role: models.RoleLead, Department: "fleet"}}}
	if _, err := e.App.Notify.Add(ctx, lead, apptest.Meta, notify.AddInput{Kind: "webhook", Target: "https://example.com/x"}); !errors.Is(err, models.ErrForbidden) {
		t.Errorf("a lead added a channel: %v", err)
	}
	var n int
	if err := e.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM notify_channels`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d channels after bad input (%v)", n, err)
	}
	if got := apptest.Only(e.Events(""), "notify."); len(got) != 0 {
		t.Fatalf("bad input was audited as a change: %v", got)
	}
}
