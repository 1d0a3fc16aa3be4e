package notify_test

import (
	"context"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/gateway"
	"github.com/uwsportal/uwsportal/internal/notify/channel/channeltest"
	"github.com/uwsportal/uwsportal/models"
)

// A credential near its maximum age and an API client near its expiry are
// each announced once, however many passes and instances find them.
func TestScanAnnouncesDueAndExpiringOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	hook := channeltest.NewReceiver(t, nil)
	w.add(models.ChannelWebhook, hook.URL, "", "due,api-client-expiring")
	a := w.a
	a.Seed("fleet", "fleetuser", models.ProtocolREST)
	a.Seed("dock", "dockuser", models.ProtocolREST)
	a.Age("fleet", 84*24*time.Hour) // due in 6 days: announced
	a.Age("dock", 80*24*time.Hour)  // due in 10 days: not yet
	if _, err := a.App.Gateway.Create(context.Background(), a.Admin, apptest.Meta, "dock", gateway.CreateInput{Name: "billing",
		Owner: "Olive <olive@example.com>", Operations: []models.Operation{models.OpList}, Lifetime: 5 * 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		w.drain()
		w.a.Clock.Advance(11 * time.Minute) // past the scan interval
	}
	checkOnce(t, "webhook", hook.Received(), map[string]int{"due fleet": 1, "api-client-expiring dock": 1})
	a.Clock.Advance(5 * 24 * time.Hour) // dock is due now too
	w.drain()
	checkOnce(t, "webhook", hook.Received(), map[string]int{"due fleet": 1, "due dock": 1, "api-client-expiring dock": 1})
}
