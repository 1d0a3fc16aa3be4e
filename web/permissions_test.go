package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// Every registered route has a policy: nothing is reachable by accident.
func TestEveryRouteHasAPolicy(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testdb.New(t), nil)
	for _, r := range ts.echo.Routes() {
		if strings.HasPrefix(r.Name, "github.com/labstack/echo") {
			continue // Echo's own 404/405 fallbacks
		}
		if _, ok := ts.Policy(r.Method, r.Path); !ok {
			t.Errorf("%s %s has no permission policy", r.Method, r.Path)
		}
	}
}

// persona is one column of the matrix.
type persona struct {
	name   string
	grants []models.Grant
	anon   bool
}

var personas = []persona{
	{name: "admin", grants: []models.Grant{{Role: models.RoleAdmin}}},
	{name: "auditor", grants: []models.Grant{{Role: models.RoleAuditor}}},
	{name: "lead-A", grants: []models.Grant{{Role: models.RoleLead, Department: "fleet"}}},
	{name: "lead-B", grants: []models.Grant{{Role: models.RoleLead, Department: "field-ops"}}},
	{name: "member-A", grants: []models.Grant{{Role: models.RoleMember, Department: "fleet"}}},
	{name: "no-role"},
	{name: "anonymous", anon: true},
}

// matrix is the permission table of docs/design.md written out per route, independent
// of the policies the routes were registered with. Department routes are
// asked about department A (fleet). "signed-in" is every persona but
// anonymous; "all" includes anonymous.
var matrix = map[string]string{
	"GET /":                                         "signed-in",
	"GET /healthz":                                  "all",
	"GET /readyz":                                   "all",
	"GET /metrics":                                  "all",
	"GET /login/local":                              "all",
	"GET /signed-out":                               "all",
	"POST /login/local":                             "all",
	"GET /admin/users":                              "admin auditor",
	"POST /admin/users/:id/disable":                 "admin",
	"POST /admin/users/:id/enable":                  "admin",
	"GET /admin/mappings":                           "admin",
	"POST /admin/mappings":                          "admin",
	"POST /admin/mappings/:id/delete":               "admin",
	"GET /admin/notifications":                      "admin",
	"POST /admin/notifications":                     "admin",
	"POST /admin/notifications/:id/test":            "admin",
	"POST /admin/notifications/:id/delete":          "admin",
	"POST /admin/notifications/networks":            "admin",
	"POST /admin/notifications/networks/:id/delete": "admin",
	"GET /audit":                                    "admin auditor lead-A lead-B",
	"GET /audit/:id":                                "admin auditor lead-A lead-B",
	"GET /audit/verify":                             "admin auditor",
	"GET /audit/export.csv":                         "admin auditor",
	"GET /audit/export.ndjson":                      "admin auditor",
	"POST /audit/verify":                            "admin auditor",
	"POST /audit/export.csv":                        "admin auditor",
	"POST /audit/export.ndjson":                     "admin auditor",
	"GET /departments":                              "admin auditor lead-A lead-B member-A",
	"GET /departments/:slug":                        "admin auditor lead-A member-A",
	"POST /departments":                             "admin",
	"POST /departments/:slug/credential":            "admin",
	"POST /departments/:slug/test-login":            "admin lead-A",
	"POST /departments/:slug/rotate":                "admin lead-A",
	"GET /departments/:slug/rotations/:id":          "admin lead-A",
	"GET /departments/:slug/rotate":                 "admin lead-A",
	"POST /departments/:slug/schedule":              "admin lead-A",
	"POST /departments/:slug/reveal":                "admin lead-A",
	"GET /departments/:slug/reveal":                 "admin lead-A",
	"POST /departments/:slug/clear-quarantine":      "admin",
	"POST /departments/:slug/settings":              "admin",
	"POST /departments/:slug/device-policy":         "admin",
	// Devices, under the default device policy.
	"GET /departments/:slug/devices":             "admin lead-A member-A",
	"GET /departments/:slug/devices/suspend":     "admin lead-A",
	"GET /departments/:slug/devices/restore":     "admin lead-A",
	"GET /departments/:slug/devices/activate":    "admin lead-A",
	"GET /departments/:slug/devices/plan":        "admin lead-A",
	"GET /departments/:slug/devices/deactivate":  "admin lead-A",
	"POST /departments/:slug/devices/suspend":    "admin lead-A",
	"POST /departments/:slug/devices/restore":    "admin lead-A",
	"POST /departments/:slug/devices/activate":   "admin lead-A",
	"POST /departments/:slug/devices/plan":       "admin lead-A",
	"POST /departments/:slug/devices/deactivate": "admin lead-A",
	// Dual control: asking needs the action's own permission (deactivate:
	// the default device policy); deciding, admins and leads (the request's
	// department is checked by the use case); the pages, anyone signed in
	// (each sees only their own requests and those they may decide).
	"POST /departments/:slug/reveal/request":             "admin lead-A",
	"POST /departments/:slug/rotate/request":             "admin lead-A",
	"POST /departments/:slug/devices/deactivate/request": "admin lead-A",
	"GET /approvals":              "signed-in",
	"GET /approvals/:id":          "signed-in",
	"POST /approvals/:id/approve": "admin lead-A lead-B",
	"POST /approvals/:id/refuse":  "admin lead-A lead-B",
	// API clients: admins, and leads of their own department.
	"GET /departments/:slug/api-clients":             "admin lead-A",
	"POST /departments/:slug/api-clients":            "admin lead-A",
	"GET /departments/:slug/api-clients/:id/rotate":  "admin lead-A",
	"POST /departments/:slug/api-clients/:id/rotate": "admin lead-A",
	"GET /departments/:slug/api-clients/:id/revoke":  "admin lead-A",
	"POST /departments/:slug/api-clients/:id/revoke": "admin lead-A",
	"POST /departments/:slug/api-clients/ceiling":    "admin",
	// The gateway answers only its own tokens: every persona's cookie is
	// refused there, in ThingSpace's shape.
	"POST /api/ts/v1/oauth2/token":                "gateway",
	"POST /api/m2m/v1/session/login":              "gateway",
	"POST /api/m2m/v1/session/logout":             "gateway",
	"POST /api/m2m/v1/devices/actions/list":       "gateway",
	"POST /api/m2m/v1/devices/actions/suspend":    "gateway",
	"POST /api/m2m/v1/devices/actions/restore":    "gateway",
	"POST /api/m2m/v1/devices/actions/activate":   "gateway",
	"PUT /api/m2m/v1/devices/actions/plan":        "gateway",
	"POST /api/m2m/v1/devices/actions/deactivate": "gateway",
	// The gateway's OpenAPI description is public, like ThingSpace's.
	"GET /api/openapi.json": "all",
	"GET /api/*":            "gateway",
	"POST /api/*":           "gateway",
	"PUT /api/*":            "gateway",
	"DELETE /api/*":         "gateway",
	"PATCH /api/*":          "gateway",
	"HEAD /api/*":           "gateway",
	"OPTIONS /api/*":        "gateway",
	// Device requests: those who work on the department's devices; the
	// callback listener answers only ThingSpace's echoed credentials.
	"GET /departments/:slug/requests":          "admin lead-A member-A",
	"GET /departments/:slug/callbacks":         "admin",
	"POST /departments/:slug/callbacks":        "admin",
	"POST /departments/:slug/callbacks/delete": "admin",
	"POST /callbacks/thingspace":               "callback",
}

func defaultPolicyForm() []string {
	var out []string
	for role, ops := range models.DefaultDevicePolicy() {
		for _, op := range ops {
			out = append(out, string(role)+":"+string(op))
		}
	}
	return out
}

func expectedAllowed(route, who string) (bool, bool) {
	cell, ok := matrix[route]
	if !ok {
		return false, false
	}
	switch cell {
	case "all":
		return true, true
	case "signed-in":
		return who != "anonymous", true
	}
	return strings.Contains(" "+cell+" ", " "+who+" "), true
}

// TestPermissionMatrix checks every route for every persona against the
// permission table: allowed means the request is not refused (whatever it
// then does with its input), denied means 403 (401 or a sign-in redirect
// when nobody is signed in). Department routes use department A (fleet).
func TestPermissionMatrix(t *testing.T) {
	t.Parallel()
	env := map[string]string{"THINGSPACE_URL": "http://127.0.0.1:1", "THINGSPACE_SOAP_URL": "http://127.0.0.1:1/soap"}
	ts := newTestServer(t, testdb.New(t), env)
	seedDemoMappings(t, ts)
	if _, err := ts.DB.Pool.Exec(context.Background(), "UPDATE departments SET reveal_allowed = true"); err != nil {
		t.Fatal(err)
	}
	routes := ts.echo.Routes()
	for _, who := range personas {
		c := anonClient()
		if !who.anon {
			c = ts.client(t, who.grants...)
		}
		for _, r := range routes {
			perm, _ := ts.Policy(r.Method, r.Path)
			if strings.HasPrefix(r.Path, "/static") || r.Path == "/auth/callback" || r.Path == "/auth/login" || r.Path == "/auth/logout" {
				continue
			}
			path := strings.NewReplacer(":slug", "fleet", ":id", "1").Replace(r.Path)
			want, listed := expectedAllowed(r.Method+" "+r.Path, who.name)
			if !listed {
				t.Errorf("%s %s is not in the permission matrix: add its row", r.Method, r.Path)
				continue
			}
			var res *http.Response
			var body string
			if matrix[r.Method+" "+r.Path] == "gateway" {
				checkGatewayRefuses(t, c, ts.URL, r.Method, path, who.name)
				continue
			}
			if matrix[r.Method+" "+r.Path] == "callback" {
				checkListenerRefuses(t, c, ts.URL+path, who.name)
				continue
			}
			if r.Method == http.MethodGet {
				res, body = do(t, c, http.MethodGet, ts.URL+path, nil)
			} else {
				// The device policy form is posted with the default policy,
				// so that the admin's turn does not change the other cells.
				res, body = ts.post(t, c, path, url.Values{"reason": {"matrix test"}, "allow": defaultPolicyForm()})
			}
			refused := res.StatusCode == http.StatusForbidden || res.StatusCode == http.StatusUnauthorized ||
				(res.StatusCode == http.StatusSeeOther && strings.HasPrefix(res.Header.Get("Location"), "/auth/login"))
			if want && refused {
				t.Errorf("%s: %s %s refused (%d) but the table allows %s", who.name, r.Method, path, res.StatusCode, perm)
			}
			if !want && !refused {
				t.Errorf("%s: %s %s answered %d but the table denies %s: %.200s", who.name, r.Method, path, res.StatusCode, perm, body)
			}
			if !want && !who.anon && res.StatusCode != http.StatusForbidden {
				t.Errorf("%s: %s %s: a signed-in denial must be 403, got %d", who.name, r.Method, path, res.StatusCode)
			}
		}
	}
	var denied int
	if err := ts.DB.Pool.QueryRow(context.Background(), "SELECT count(*) FROM audit_events WHERE code = $1 AND outcome = 'denied'", models.EvAccessDenied).Scan(&denied); err != nil {
		t.Fatal(err)
	}
	if denied == 0 {
		t.Fatal("denials were not audited")
	}
}

// checkListenerRefuses posts a persona's browser request (cookie, no
// echoed credentials) to the callback listener: a 401, whoever is signed in.
func checkListenerRefuses(t *testing.T, c *http.Client, u, who string) {
	t.Helper()
	res, err := c.Post(u, "application/json", strings.NewReader(`{"requestId":"r-1","status":"Success","deviceIds":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("%s: the callback listener answered %d, want 401", who, res.StatusCode)
	}
}

// checkGatewayRefuses sends a persona's browser request (cookie, CSRF
// token) to a gateway path: it must be refused in ThingSpace's shape.
func checkGatewayRefuses(t *testing.T, c *http.Client, base, method, path, who string) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(`{"accountName":"0000123456-00001"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var shape map[string]any
	decodeErr := json.NewDecoder(res.Body).Decode(&shape)
	if res.StatusCode < 400 || res.StatusCode >= 500 {
		t.Errorf("%s: %s %s answered %d: the gateway must refuse a browser", who, method, path, res.StatusCode)
	}
	if method == http.MethodHead {
		return // no body
	}
	_, isFault := shape["fault"]
	_, isM2M := shape["errorCode"]
	// The token endpoint answers as ThingSpace's OAuth server does.
	_, isOAuth := shape["error"]
	isOAuth = isOAuth && path == "/api/ts/v1/oauth2/token"
	if decodeErr != nil || (!isFault && !isM2M && !isOAuth) {
		t.Errorf("%s: %s %s: the refusal is not in ThingSpace's shape (%v)", who, method, path, decodeErr)
	}
}
