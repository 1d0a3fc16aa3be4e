package requests_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/devices"
	"github.com/uwsportal/uwsportal/internal/requests"
	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/internal/tsim"
	"github.com/uwsportal/uwsportal/models"
)

const account = "0000123456-00001"

var ctx = context.Background()

var lead = &models.Principal{UserID: 10, Actor: "10", Name: "Lea Lead", Grants: []models.Grant{{Role: models.RoleLead, Department: "fleet"}}}

// env is a portal whose listener is an httptest server (the web layer's
// part: read the capped body, call Callback, answer).
type env struct {
	*apptest.Env
	listener *httptest.Server
}

// fleet is a portal with department fleet, its credential, its account
// and devices upstream, the simulator in async mode.
func fleet(t *testing.T, o apptest.Options) *env {
	t.Helper()
	var reqs atomic.Pointer[requests.Service]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, requests.MaxCallbackBody+1))
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		ans := reqs.Load().Callback(r.Context(), apptest.Meta, body)
		w.WriteHeader(ans.Status)
	}))
	t.Cleanup(srv.Close)
	o.CallbackURL = srv.URL
	e := apptest.New(t, o)
	reqs.Store(e.App.Requests)
	e.Seed("fleet", "fleet_uws", models.ProtocolREST)
	if err := e.App.Departments.SetAccount(ctx, e.Admin, apptest.Meta, "fleet", account); err != nil {
		t.Fatal(err)
	}
	e.Sim.SeedDevices(account, 20, 7)
	e.Sim.SetAsync(tsim.AsyncOptions{Delay: 10 * time.Millisecond, Retry: 10 * time.Millisecond})
	return &env{Env: e, listener: srv}
}

// accepted records lead's suspend of dev, which ThingSpace accepted as
// request rid, and returns the request's id.
func (e *env) accepted(t *testing.T, rid string, dev models.DeviceID) int64 {
	t.Helper()
	id, err := e.App.Requests.Record(ctx, requests.Sent{P: lead, Meta: apptest.Meta, Department: "fleet", Account: account,
		Op: models.OpSuspend, Devices: []models.DeviceID{dev}, RequestID: rid, Outcome: requests.Accepted})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// register makes the portal the account's listener.
func (e *env) register(t *testing.T) {
	t.Helper()
	if err := e.App.Requests.Register(ctx, e.Admin, apptest.Meta, "fleet"); err != nil {
		t.Fatal(err)
	}
}

// active returns n active devices' MDNs upstream.
func (e *env) active(t *testing.T, n int) []models.DeviceID {
	t.Helper()
	page, err := e.App.Devices.List(ctx, lead, apptest.Meta, "fleet", devices.Query{State: thingspace.StateActive})
	if err != nil {
		t.Fatal(err)
	}
	var out []models.DeviceID
	for _, d := range page.Devices {
		if d.ID("mdn") != "" && len(out) < n {
			out = append(out, models.DeviceID{Kind: "mdn", ID: d.ID("mdn")})
		}
	}
	if len(out) < n {
		t.Fatalf("only %d active devices with an MDN", len(out))
	}
	return out
}

// suspend suspends ids as the lead and returns the results.
func (e *env) suspend(t *testing.T, ids ...models.DeviceID) []devices.DeviceResult {
	t.Helper()
	res, err := e.App.Devices.Act(ctx, lead, apptest.Meta, "fleet", devices.Action{Op: models.OpSuspend, Devices: ids})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Request == 0 {
			t.Fatalf("result %+v has no request record", r)
		}
	}
	return res
}

// request reads request id.
func (e *env) request(t *testing.T, id int64) models.DeviceRequest {
	t.Helper()
	r, ok, err := e.DB.DeviceRequest(ctx, nil, id)
	if err != nil || !ok {
		t.Fatalf("request %d: %v (found %v)", id, err, ok)
	}
	return r
}

// want fails unless request id is in status, ended by how.
func (e *env) want(t *testing.T, id int64, status models.RequestStatus, how string) models.DeviceRequest {
	t.Helper()
	r := e.request(t, id)
	if r.Status != status || r.EndedBy != how {
		t.Fatalf("request %d is %s (by %q), want %s by %q", id, r.Status, r.EndedBy, status, how)
	}
	if (r.EndedAt == nil) != (how == "") {
		t.Fatalf("request %d ended at %v with how %q", id, r.EndedAt, how)
	}
	return r
}

// post sends body to the listener and returns the status.
func (e *env) post(t *testing.T, body []byte) int {
	t.Helper()
	res, err := http.Post(e.listener.URL+requests.ListenerPath, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		t.Fatal(err)
	}
	return res.StatusCode
}

// postStatus is post for another goroutine: 0 when it could not send.
func (e *env) postStatus(body []byte) int {
	res, err := http.Post(e.listener.URL+requests.ListenerPath, "application/json", bytes.NewReader(body))
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		return 0
	}
	return res.StatusCode
}

// count counts rows of an SQL query.
func (e *env) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := e.DB.Pool.QueryRow(ctx, q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// credentials are the username and password the simulator echoes.
func (e *env) credentials(t *testing.T) (string, string) {
	t.Helper()
	ls := e.Sim.Listeners(account)
	if len(ls) != 1 {
		t.Fatalf("simulator lists %d listeners, want 1", len(ls))
	}
	return ls[0].Username, ls[0].Password
}

func message(t testing.TB, m requests.Message) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
