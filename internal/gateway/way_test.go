package gateway_test

import (
	"net/http"
	"testing"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/gateway"
	"github.com/uwsportal/uwsportal/models"
)

// A call with a live shared session never opens the department's UWS
// password: with the stored ciphertext made unopenable, calls go on; only
// a login, which needs the password, fails (so an open would be seen).
func TestLiveSessionNeverOpensTheCredential(t *testing.T) {
	t.Parallel()
	p := newPortal(t, unlimited)
	app := p.app(t, p.client(t, "fleet", models.OpList)).start()
	if a := app.list(account); !a.listed() {
		t.Fatalf("list: %d %s", a.Status, a.Body)
	}
	if _, err := p.DB.Pool.Exec(ctx, "UPDATE credentials SET key_id = 'no-such-key', ciphertext = '\\x00'::bytea"); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if a := app.list(account); !a.listed() {
			t.Fatalf("a call with a live session opened the credential: %d %s", a.Status, a.Body)
		}
	}
	if got := p.Sim.User(t, "fleet_uws").LoginsOK; got != 1 {
		t.Fatalf("%d upstream logins, want 1", got)
	}
	p.Sim.ExpireSessions()
	if a := app.list(account); a.Status != http.StatusServiceUnavailable {
		t.Fatalf("a login with an unopenable password: %d %s", a.Status, a.Body)
	}
}

// What the gateway reads on each call is read afresh on every instance:
// a ceiling set, a credential put in quarantine and a client revoked on
// instance B hold from the very next call on instance A, and a session
// that B logged in again is the one A uses (no login of its own).
func TestChangesOnOneInstanceHoldOnTheNextCallOfTheOther(t *testing.T) {
	t.Parallel()
	a := newPortal(t, gateway.Limits{Burst: 1e9, PerSecond: 1e9})
	b := a.second(t)
	made := a.client(t, "fleet", models.OpList)
	onA, onB := a.app(t, made).start(), b.app(t, made).start()
	if r := onA.list(account); !r.listed() {
		t.Fatalf("list on A: %d %s", r.Status, r.Body)
	}
	a.Sim.ExpireSessions()
	if r := onB.list(account); !r.listed() {
		t.Fatalf("list on B after expiry: %d %s", r.Status, r.Body)
	}
	if r := onA.list(account); !r.listed() {
		t.Fatalf("list on A after B logged in again: %d %s", r.Status, r.Body)
	}
	if got := a.Sim.User(t, "fleet_uws").LoginsOK; got != 2 {
		t.Fatalf("%d upstream logins, want 2 (A uses the session B made)", got)
	}
	// The clock is stopped: a ceiling of 1 lets through one call more.
	if err := b.App.Gateway.SetCeiling(ctx, b.Admin, apptest.Meta, "fleet", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := b.DB.Pool.Exec(ctx, "DELETE FROM gateway_department_buckets"); err != nil {
		t.Fatal(err)
	}
	if r := onA.list(account); !r.listed() {
		t.Fatalf("the one call under the new ceiling: %d %s", r.Status, r.Body)
	}
	if r := onA.list(account); r.Status != http.StatusTooManyRequests || r.Header.Get(gateway.HeaderLimit) != gateway.LimitDepartment {
		t.Fatalf("A after B set a ceiling of 1: %d %v %s", r.Status, r.Header, r.Body)
	}
	if err := b.App.Gateway.SetCeiling(ctx, b.Admin, apptest.Meta, "fleet", gateway.MaxCeiling); err != nil {
		t.Fatal(err)
	}
	if _, err := b.DB.Pool.Exec(ctx, "DELETE FROM gateway_department_buckets"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.DB.Pool.Exec(ctx, "UPDATE credentials SET state = 'quarantined'"); err != nil {
		t.Fatal(err)
	}
	if r := onA.list(account); r.Status != http.StatusServiceUnavailable {
		t.Fatalf("A with the credential quarantined: %d %s", r.Status, r.Body)
	}
	if _, err := b.DB.Pool.Exec(ctx, "UPDATE credentials SET state = 'idle'"); err != nil {
		t.Fatal(err)
	}
	if r := onA.list(account); !r.listed() {
		t.Fatalf("A with the credential back: %d %s", r.Status, r.Body)
	}
	if err := b.App.Gateway.Revoke(ctx, b.Admin, apptest.Meta, "fleet", made.Client.ID); err != nil {
		t.Fatal(err)
	}
	if r := onA.list(account); r.Status != http.StatusUnauthorized {
		t.Fatalf("A after B revoked the client: %d %s", r.Status, r.Body)
	}
}

// The gateway passes ThingSpace's answer on as it came, uncompressed even
// when the application accepts gzip (as a reverse proxy does by default):
// compressing a device list cost a third of the gateway's own CPU, for
// bytes that travel between the portal and applications on the same
// network.
func TestAnswersPassUncompressed(t *testing.T) {
	t.Parallel()
	p := newPortal(t, unlimited)
	app := p.app(t, p.client(t, "fleet", models.OpList)).start()
	a := app.do(http.MethodPost, "/api/m2m/v1/devices/actions/list", map[string]any{"accountName": account, "maxNumberOfDevices": 100},
		map[string]string{"Accept-Encoding": "gzip"})
	if !a.listed() || len(a.Body) < 1024 {
		t.Fatalf("list: %d, %d bytes: %.200s", a.Status, len(a.Body), a.Body)
	}
	if ce := a.Header.Get("Content-Encoding"); ce != "" {
		t.Fatalf("the answer was sent with Content-Encoding %q", ce)
	}
	if devs, _ := a.json(t)["devices"].([]any); len(devs) == 0 {
		t.Fatalf("no devices in the answer: %.200s", a.Body)
	}
}
