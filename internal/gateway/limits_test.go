package gateway_test

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/gateway"
	"github.com/uwsportal/uwsportal/internal/tsim"
	"github.com/uwsportal/uwsportal/models"
)

// A retried action with the same Idempotency-Key and body gets the first
// answer and makes no second action upstream; another body is refused.
func TestIdempotentRetryMakesOneAction(t *testing.T) {
	t.Parallel()
	p := newPortal(t, gateway.Limits{})
	app := p.app(t, p.client(t, "fleet", models.OpList, models.OpSuspend)).start()
	mdn := activeMDN(t, app)
	key := map[string]string{"Idempotency-Key": "retry-1"}
	first := app.act("suspend", account, mdn, key)
	if first.Status != http.StatusOK {
		t.Fatalf("suspend: %d %s", first.Status, first.Body)
	}
	before := p.Sim.User(t, "fleet_uws").DeviceActions
	again := app.act("suspend", account, mdn, key)
	if again.Status != first.Status || !bytes.Equal(again.Body, first.Body) {
		t.Fatalf("the retry got %d %s, the first %d %s", again.Status, again.Body, first.Status, first.Body)
	}
	if got := p.Sim.User(t, "fleet_uws").DeviceActions; got != before {
		t.Fatalf("the retry reached ThingSpace: %d actions, want %d", got, before)
	}
	other := app.act("suspend", account, "5550000000", key)
	if other.Status != http.StatusConflict || other.code(t) != "UnifiedWebService.INPUT_INVALID.IdempotencyKey.Reused" {
		t.Fatalf("same key, other body: %d %s", other.Status, other.Body)
	}
	// Kept for 24 hours, then the key is free again.
	p.Clock.Advance(25 * time.Hour)
	app.start()
	if a := app.act("suspend", account, "5550000000", key); a.Status == http.StatusConflict {
		t.Fatalf("a 25-hour-old key still refused: %s", a.Body)
	}
}

// The rate limit answers 429 with Retry-After, and recovers.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	p := newPortal(t, gateway.Limits{Burst: 4, PerSecond: 1})
	app := p.app(t, p.client(t, "fleet", models.OpList)).start() // two tokens
	var limited answer
	for i := 0; i < 4; i++ {
		if a := app.list(account); a.Status == http.StatusTooManyRequests {
			limited = a
			break
		}
	}
	if limited.Status != http.StatusTooManyRequests || limited.Header.Get("Retry-After") == "" || limited.code(t) != "fault:900800" {
		t.Fatalf("no 429 with Retry-After after the burst: %d %v %s", limited.Status, limited.Header, limited.Body)
	}
	p.Clock.Advance(2 * time.Second)
	if a := app.list(account); a.Status == http.StatusTooManyRequests {
		t.Fatalf("still limited after the bucket refilled: %s", a.Body)
	}
}

// An action whose answer is lost comes back as a 5xx in ThingSpace's
// shape and is never sent again.
func TestLostAnswerIsNotRetried(t *testing.T) {
	t.Parallel()
	p := newPortal(t, gateway.Limits{})
	app := p.app(t, p.client(t, "fleet", models.OpList, models.OpSuspend)).start()
	mdn := activeMDN(t, app)
	if err := p.Sim.SetFaults("fleet_uws", tsim.Faults{DeviceActionFailAfter: true}); err != nil {
		t.Fatal(err)
	}
	before := p.Sim.User(t, "fleet_uws").DeviceActions
	key := map[string]string{"Idempotency-Key": "lost-1"}
	a := app.act("suspend", account, mdn, key)
	if a.Status != http.StatusBadGateway && a.Status != http.StatusGatewayTimeout {
		t.Fatalf("lost answer: %d %s", a.Status, a.Body)
	}
	if c := a.code(t); c != "UnifiedWebService.REQUEST_FAILED.OutcomeUnknown" {
		t.Fatalf("lost answer code %s", c)
	}
	if got := p.Sim.User(t, "fleet_uws").DeviceActions; got != before+1 {
		t.Fatalf("%d actions upstream, want exactly 1", got-before)
	}
	// The same key does not send it again either.
	if err := p.Sim.ClearFaults("fleet_uws"); err != nil {
		t.Fatal(err)
	}
	if b := app.act("suspend", account, mdn, key); b.Status != a.Status || p.Sim.User(t, "fleet_uws").DeviceActions != before+1 {
		t.Fatalf("the retry with the same key: %d, actions %d", b.Status, p.Sim.User(t, "fleet_uws").DeviceActions-before)
	}
	events := strings.Join(p.Events("fleet"), " ")
	if !strings.Contains(events, models.EvGatewayCall) {
		t.Fatal("the lost answer was not audited")
	}
}

// Bad input gets ThingSpace's error shapes and sends nothing upstream.
func TestBadInputSendsNothing(t *testing.T) {
	t.Parallel()
	p := newPortal(t, gateway.Limits{MaxBody: 4096})
	app := p.app(t, p.client(t, "fleet", models.Operations...)).start()
	before := p.Sim.Stats()
	raw := func(method, path, ctype, body string) answer {
		req, err := http.NewRequest(method, p.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+app.token)
		req.Header.Set("VZ-M2M-Token", app.session)
		req.Header.Set("Content-Type", ctype)
		return send(t, req)
	}
	list := "/api/m2m/v1/devices/actions/list"
	cases := []struct {
		name, method, path, ctype, body string
		status                          int
	}{
		{"malformed JSON", http.MethodPost, list, "application/json", `{"accountName":`, http.StatusBadRequest},
		{"not an object", http.MethodPost, list, "application/json", `[1,2]`, http.StatusBadRequest},
		{"very huge body", http.MethodPost, list, "application/json", `{"accountName":"` + account + `","x":"` + strings.Repeat("a", 2<<20) + `"}`, http.StatusRequestEntityTooLarge},
		{"huge body", http.MethodPost, list, "application/json", `{"accountName":"` + account + `","x":"` + strings.Repeat("a", 8000) + `"}`, http.StatusRequestEntityTooLarge},
		{"wrong content type", http.MethodPost, list, "text/plain", `{"accountName":"` + account + `"}`, http.StatusUnsupportedMediaType},
		{"no account", http.MethodPost, list, "application/json", `{}`, http.StatusForbidden},
		{"unknown path", http.MethodPost, "/api/m2m/v1/devices/actions/delete", "application/json", `{}`, http.StatusNotFound},
		{"unknown service", http.MethodGet, "/api/m2m/v1/accounts/" + account, "application/json", ``, http.StatusNotFound},
		{"wrong method", http.MethodGet, list, "application/json", ``, http.StatusMethodNotAllowed},
		{"password", http.MethodPost, "/api/m2m/v1/session/password/actions/reset", "application/json", `{}`, http.StatusForbidden},
		{"token as JSON", http.MethodPost, gateway.PathToken, "application/json", `{}`, http.StatusUnauthorized},
	}
	for _, c := range cases {
		a := raw(c.method, c.path, c.ctype, c.body)
		if a.Status != c.status {
			t.Errorf("%s: %d, want %d: %s", c.name, a.Status, c.status, a.Body)
			continue
		}
		a.code(t) // ThingSpace's shape
	}
	if after := p.Sim.Stats(); after.Calls != before.Calls || after.LoginsOK != before.LoginsOK {
		t.Fatalf("bad input reached ThingSpace: %+v → %+v", before, after)
	}
}

// Calls in flight are bounded per client (in this instance): beyond the
// bound, 429 at once, and nothing is sent.
func TestConcurrentCallsAreBounded(t *testing.T) {
	t.Parallel()
	p := newPortal(t, gateway.Limits{MaxConcurrent: 1})
	app := p.app(t, p.client(t, "fleet", models.OpList)).start()
	activeMDN(t, app) // the upstream session exists
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	p.Sim.SetHook(func(r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/devices/actions/list") {
			once.Do(func() { close(entered); <-release })
		}
	})
	done := make(chan answer, 1)
	go func() { done <- app.list(account) }()
	<-entered
	second := app.list(account)
	close(release)
	first := <-done
	if second.Status != http.StatusTooManyRequests || second.Header.Get("Retry-After") == "" {
		t.Fatalf("a second call in flight: %d %s", second.Status, second.Body)
	}
	if first.Status != http.StatusOK && first.Status != http.StatusAccepted {
		t.Fatalf("the first call: %d %s", first.Status, first.Body)
	}
}

// An Idempotency-Key is bound to the operation too: a restore with the
// key and body of an earlier suspend is refused (409), not answered with
// the suspend's requestId, and no restore is recorded as done.
func TestIdempotencyKeyIsBoundToTheOperation(t *testing.T) {
	t.Parallel()
	p := newPortal(t, gateway.Limits{})
	app := p.app(t, p.client(t, "fleet", models.OpList, models.OpSuspend, models.OpRestore)).start()
	mdn := activeMDN(t, app)
	key := map[string]string{"Idempotency-Key": "op-1"}
	if a := app.act("suspend", account, mdn, key); a.Status != http.StatusOK {
		t.Fatalf("suspend: %d %.200s", a.Status, a.Body)
	}
	before := p.Sim.User(t, "fleet_uws").DeviceActions
	a := app.act("restore", account, mdn, key)
	if a.Status != http.StatusConflict || a.code(t) != "UnifiedWebService.INPUT_INVALID.IdempotencyKey.Reused" || a.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("restore with the suspend's key: %d %v %.200s", a.Status, a.Header, a.Body)
	}
	if got := p.Sim.User(t, "fleet_uws").DeviceActions; got != before {
		t.Fatal("the refused restore reached ThingSpace")
	}
	if st := p.state(t, mdn); !strings.HasPrefix(strings.ToLower(st), "suspend") {
		t.Fatalf("the device is %q", st)
	}
	var n int
	if err := p.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE code = $1 AND outcome = 'success'
	       AND detail->>'operation' = 'restore'`, models.EvGatewayCall).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d successful restores audited, none happened", n)
	}
}

// A client refused over and over writes one audit event per reason and
// window, then a summary with the count, in its own name and department;
// logout takes a rate-limit token like every other call.
func TestRefusalsAreGroupedPerClient(t *testing.T) {
	t.Parallel()
	p := newPortal(t, gateway.Limits{Burst: 3, PerSecond: 0.01})
	made := p.client(t, "fleet", models.OpList)
	app := p.app(t, made).start() // two tokens of three
	limited := 0
	for i := 0; i < 40; i++ {
		if a := app.list(account); a.Status == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited < 38 {
		t.Fatalf("%d calls limited, want at least 38", limited)
	}
	for i := 0; i < 5; i++ { // and a refusal of another reason
		if a := app.act("suspend", account, "5550000000", nil); a.Status != http.StatusForbidden {
			t.Fatalf("suspend out of scope: %d %.200s", a.Status, a.Body)
		}
	}
	actor := "api-client:" + made.Client.ID
	count := func(code string) int {
		var n int
		if err := p.DB.Pool.QueryRow(ctx, "SELECT count(*) FROM audit_events WHERE code = $1 AND actor = $2", code, actor).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(models.EvGatewayRefused); n != 2 {
		t.Fatalf("%d refusal events for %d refusals of two reasons, want 2 (then a count each)", n, limited+5)
	}
	// The next window: the first refusal closes the last one with its count.
	p.Clock.Advance(6 * time.Minute)
	app.act("suspend", account, "5550000000", nil)
	rows, err := p.DB.Pool.Query(ctx, "SELECT department, detail FROM audit_events WHERE code = $1 AND actor = $2 ORDER BY id",
		models.EvFailuresSummarized, actor)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for rows.Next() {
		var dept string
		var detail map[string]any
		if err := rows.Scan(&dept, &detail); err != nil {
			t.Fatal(err)
		}
		reason, _ := detail["reason"].(string)
		if got[reason], _ = detail["count"].(float64); dept != "fleet" {
			t.Fatalf("a summary in department %q", dept)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if got["rate_limit"] != float64(limited) || got["scope"] != 5 || len(got) != 2 {
		t.Fatalf("summaries %v, want rate_limit %d and scope 5", got, limited)
	}
	// Logout is rate-limited too.
	p.Clock.Advance(time.Hour)
	fresh := p.app(t, p.client(t, "fleet", models.OpList)).start()
	fresh.session = "not-a-session"
	var last answer
	for i := 0; i < 5; i++ {
		last = fresh.do(http.MethodPost, "/api/m2m/v1/session/logout", nil, nil)
	}
	if last.Status != http.StatusTooManyRequests {
		t.Fatalf("the fifth logout of a bucket of three: %d %.200s", last.Status, last.Body)
	}
}
