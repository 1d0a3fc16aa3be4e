package devices_test

import (
	"context"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/devices"
	"github.com/uwsportal/uwsportal/internal/tsim"
	"github.com/uwsportal/uwsportal/models"
)

// A person who leaves the page while the list call is upstream cancels
// it; the call may have reached ThingSpace, so it is audited all the same.
func TestAListTheClientLeftIsAudited(t *testing.T) {
	t.Parallel()
	e := fleet(t, apptest.Options{})
	active(t, e) // the session is open: the next list is one call
	if err := e.Sim.SetFaults("fleet_uws", tsim.Faults{Latency: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	leaving, cancel := context.WithCancel(ctx)
	time.AfterFunc(200*time.Millisecond, cancel)
	if _, err := e.App.Devices.List(leaving, member, apptest.Meta, "fleet", devices.Query{}); err == nil {
		t.Fatal("the list answered although its caller left during the call")
	}
	lists := 0
	for _, code := range e.Events("fleet") {
		if code == models.EvDeviceList {
			lists++
		}
	}
	if lists != 2 {
		t.Fatalf("%d %s events for two lists, want 2", lists, models.EvDeviceList)
	}
}
