package gateway_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/gateway"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/internal/testutil"
	"github.com/uwsportal/uwsportal/internal/tsim"
	"github.com/uwsportal/uwsportal/models"
)

// An application that gives up on its call (its timeout, its process
// ending) cancels it. Nothing is sent upstream then, and that is the
// caller's doing: no error is logged, no refusal audited, and the call
// is counted as 499.
func TestAnApplicationThatLeftIsNotAnError(t *testing.T) {
	db := apptest.OpenDB(t, testdb.URL(t))
	logs := &testutil.Buffer{}
	s := gateway.New(gateway.Deps{DB: db, Log: slog.New(slog.NewJSONHandler(logs, nil)), Now: time.Now})
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequest(http.MethodPost, gateway.PathDevices+"list", strings.NewReader(`{"accountName":"`+account+`"}`)).WithContext(gone)
	r.Header.Set("Authorization", "Bearer abc")
	r.Header.Set("VZ-M2M-Token", "def")
	w := httptest.NewRecorder()
	s.Serve(w, r, models.RequestMeta{RequestID: "rid", SourceIP: "192.0.2.1"})
	if strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("an application that left was logged as an error:\n%s", logs.String())
	}
	if w.Code != 499 {
		t.Errorf("status %d, want 499 (the client closed the request)", w.Code)
	}
}

// An application whose call times out while ThingSpace is slow retries
// with the same Idempotency-Key, as it should. The action was sent, so the
// retry must get its answer once it came, not "in progress" for as long as
// the key is kept, and not a second action.
func TestARetryAfterTheApplicationLeftGetsTheKeptAnswer(t *testing.T) {
	t.Parallel()
	p := newPortal(t, gateway.Limits{})
	app := p.app(t, p.client(t, "fleet", models.OpList, models.OpSuspend)).start()
	mdn := activeMDN(t, app)
	if err := p.Sim.SetFaults("fleet_uws", tsim.Faults{Latency: 700 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	before := p.Sim.User(t, "fleet_uws").DeviceActions
	key := map[string]string{"Idempotency-Key": "left-1"}
	impatient := &http.Client{Timeout: 200 * time.Millisecond}
	if res, err := impatient.Do(app.actRequest("suspend", account, mdn, key)); err == nil {
		t.Fatalf("the impatient call was answered (%d) before its timeout (close: %v)", res.StatusCode, res.Body.Close())
	}
	if err := p.Sim.ClearFaults("fleet_uws"); err != nil {
		t.Fatal(err)
	}
	// Wait for the first call to end in the portal (its answer kept),
	// then retry once: each retry takes a rate-limit token.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var kept bool
		if err := p.DB.Pool.QueryRow(ctx, "SELECT status IS NOT NULL FROM gateway_idempotency WHERE key = 'left-1'").Scan(&kept); err != nil {
			t.Fatal(err)
		}
		if kept {
			break
		}
	}
	a := app.act("suspend", account, mdn, key)
	if a.Status != http.StatusOK || a.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("the retry: %d %v %s, want the first call's kept answer", a.Status, a.Header.Get("Idempotent-Replayed"), a.Body)
	}
	if got := p.Sim.User(t, "fleet_uws").DeviceActions; got != before+1 {
		t.Fatalf("%d actions upstream, want exactly 1", got-before)
	}
	// The action sent is audited although its caller left before the answer.
	var sent int
	if err := p.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE code = $1 AND detail->>'operation' = 'suspend'
	       AND detail->>'idempotent_replay' IS NULL`, models.EvGatewayCall).Scan(&sent); err != nil {
		t.Fatal(err)
	}
	if sent != 1 {
		t.Fatalf("%d %s events for the suspend that was sent, want 1", sent, models.EvGatewayCall)
	}
}
