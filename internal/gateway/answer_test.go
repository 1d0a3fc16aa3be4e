package gateway_test

import (
	"net/http"
	"testing"

	"github.com/uwsportal/uwsportal/internal/gateway"
	"github.com/uwsportal/uwsportal/models"
)

// A call's audit event keeps ThingSpace's request id of an accepted
// action and its error code of a refusal; a list's carries neither.
func TestTheCallsEventKeepsTheRequestIDAndTheErrorCode(t *testing.T) {
	t.Parallel()
	p := newPortal(t, gateway.Limits{})
	app := p.app(t, p.client(t, "fleet", models.OpList, models.OpSuspend)).start()
	mdn := activeMDN(t, app)
	last := func(op string) (status, rid, code string) {
		t.Helper()
		if err := p.DB.Pool.QueryRow(ctx, `SELECT detail->>'upstream_status', detail->>'request_id', detail->>'upstream_code'
		         FROM audit_events WHERE code = $1 AND detail->>'operation' = $2 ORDER BY id DESC LIMIT 1`,
			models.EvGatewayCall, op).Scan(&status, &rid, &code); err != nil {
			t.Fatal(err)
		}
		return status, rid, code
	}
	if st, rid, code := last("list"); (st != "200" && st != "202") || rid != "" || code != "" {
		t.Fatalf("list: status %s, request id %q, code %q", st, rid, code)
	}
	a := app.act("suspend", account, mdn, nil)
	want, _ := a.json(t)["requestId"].(string)
	if a.Status != http.StatusOK || want == "" {
		t.Fatalf("suspend: %d %s", a.Status, a.Body)
	}
	if st, rid, code := last("suspend"); st != "200" || rid != want || code != "" {
		t.Fatalf("suspend: status %s, request id %q (want %q), code %q", st, rid, want, code)
	}
	a = app.act("suspend", account, mdn, nil) // suspended already: refused
	wantCode := a.code(t)
	if a.Status != http.StatusBadRequest || wantCode == "" {
		t.Fatalf("second suspend: %d %s", a.Status, a.Body)
	}
	if st, rid, code := last("suspend"); st != "400" || rid != "" || code != wantCode {
		t.Fatalf("refused suspend: status %s, request id %q, code %q (want %q)", st, rid, code, wantCode)
	}
}
