package requests_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/requests"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/internal/testutil"
	"github.com/uwsportal/uwsportal/models"
)

// maxCallbackRoundTrips is what a callback for a recorded request may
// cost in round trips to Postgres: the listener's registration, then its
// batch's three (begin and the requests' end; the audit chain's head; the
// events and commit).
const maxCallbackRoundTrips = 4

// A callback for a recorded, pending request costs at most
// maxCallbackRoundTrips round trips, whatever the statements.
func TestCallbackRoundTrips(t *testing.T) {
	t.Parallel()
	c := testutil.ClockFor(t)
	rt := &store.RoundTrips{}
	db, err := store.Open(ctx, testdb.URL(t), store.Options{MaxConns: 10, Now: c.Now, RoundTrips: rt})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	testutil.BindClock(t, db, c)
	e := fleet(t, apptest.Options{DB: db, Clock: c})
	e.register(t)
	user, pw := e.credentials(t)
	devs := e.active(t, 2)
	e.accepted(t, "rt-warm", devs[0])
	e.accepted(t, "rt-1", devs[1])
	post := func(rid string, dev models.DeviceID) {
		body := message(t, requests.Message{Username: user, Password: pw, RequestID: rid, DeviceIDs: []models.DeviceID{dev}, Status: "Success"})
		if ans := e.App.Requests.Callback(ctx, apptest.Meta, body); ans.Status != http.StatusOK {
			t.Fatalf("callback %s: %d %s", rid, ans.Status, ans.Message)
		}
	}
	post("rt-warm", devs[0]) // statements are prepared
	sent := rt.Count(func() { post("rt-1", devs[1]) })
	if len(sent) > maxCallbackRoundTrips {
		t.Fatalf("%d round trips per callback, want at most %d:\n%s", len(sent), maxCallbackRoundTrips, strings.Join(sent, "\n"))
	}
}
