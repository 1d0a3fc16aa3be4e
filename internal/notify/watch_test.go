package notify_test

import (
	"context"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/notify/channel/channeltest"
	"github.com/uwsportal/uwsportal/models"
)

// A chain broken outside the portal is found by the daily watch, once a day
// across instances, and notified without anyone asking for a verification.
func TestDailyWatchNotifiesABrokenChain(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	hook := channeltest.NewReceiver(t, nil)
	w.add(models.ChannelWebhook, hook.URL, "", "audit-chain")
	w.audit(models.EvBreakGlassSucceeded, "", "username", "root")
	w.audit(models.EvBreakGlassSucceeded, "", "username", "root")

	// Healthy: verified once, nothing to tell.
	if ran, err := w.a.App.Audit.VerifyIfDue(ctx); err != nil || !ran {
		t.Fatalf("first watch: %v %v", ran, err)
	}
	for _, stmt := range []string{"ALTER TABLE audit_events DISABLE TRIGGER USER",
		// The checkpoint the first watch left: the daily watch walks from
		// it (an edit before it waits for the weekly full walk).
		"UPDATE audit_events SET actor = 'mallory' WHERE id = (SELECT max(id) FROM audit_events WHERE code = 'audit.verified')",
		"ALTER TABLE audit_events ENABLE TRIGGER USER"} {
		if _, err := w.a.DB.Pool.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	if ran, err := w.b.App.Audit.VerifyIfDue(ctx); err != nil || ran {
		t.Fatalf("the other instance verified again within the day (%v)", err)
	}
	w.drain()
	if n := len(hook.Received()); n != 0 {
		t.Fatalf("%d notifications before the next watch", n)
	}
	w.a.Clock.Advance(25 * time.Hour)
	ran := make(chan bool, 2)
	for _, verify := range []func(context.Context) (bool, error){w.a.App.Audit.VerifyIfDue, w.b.App.Audit.VerifyIfDue} {
		go func() {
			r, err := verify(ctx)
			if err != nil {
				t.Error(err)
			}
			ran <- r
		}()
	}
	if a, b := <-ran, <-ran; a == b {
		t.Fatalf("two instances after a day: ran %v and %v, want exactly one", a, b)
	}
	w.drain()
	got := hook.Received()
	if len(got) != 1 || got[0].JSON["event"] != "audit-chain" {
		t.Fatalf("the broken chain was notified %d times: %v", len(got), got)
	}
}
