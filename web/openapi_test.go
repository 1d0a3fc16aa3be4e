package web

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// The OpenAPI description and the routes agree both ways: every gateway
// route (whatever adds it) is described, and every described path and
// method is routed to the gateway. A new gateway route fails this test
// until api/openapi.json describes it.
func TestOpenAPIDescribesEveryGatewayRoute(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testdb.New(t), nil)
	res, body := get(t, ts.URL+openAPIPath)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%s: %d %s", openAPIPath, res.StatusCode, res.Header.Get("Content-Type"))
	}
	var spec struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal([]byte(body), &spec); err != nil || !strings.HasPrefix(spec.OpenAPI, "3.") {
		t.Fatalf("not an OpenAPI 3 document: %v %q", err, spec.OpenAPI)
	}
	described := map[string]bool{}
	for path, ops := range spec.Paths {
		for method, op := range ops {
			described[strings.ToUpper(method)+" "+echoPath(path)] = true
			var o struct{ Responses map[string]json.RawMessage }
			if err := json.Unmarshal(op, &o); err != nil || o.Responses["200"] == nil || !hasClientError(o.Responses) {
				t.Errorf("%s %s: describe its 200 answer and its errors (%v)", method, path, err)
			}
		}
	}
	routed := map[string]bool{}
	for _, r := range ts.Routes() {
		method, path, _ := strings.Cut(r, " ")
		if perm, _ := ts.Policy(method, path); perm != models.PermGateway || strings.HasSuffix(path, "*") {
			continue
		}
		routed[r] = true
		if !described[r] {
			t.Errorf("%s is a gateway route that api/openapi.json does not describe", r)
		}
	}
	for r := range described {
		if !routed[r] {
			t.Errorf("api/openapi.json describes %s, which is not a gateway route", r)
		}
	}
	if len(routed) < 9 {
		t.Fatalf("only %d gateway routes found: %v", len(routed), routed)
	}
}

var openAPIParam = regexp.MustCompile(`\{([^}]+)\}`)

// echoPath writes an OpenAPI path ({id}) as Echo does (:id).
func echoPath(p string) string { return openAPIParam.ReplaceAllString(p, ":$1") }

func hasClientError(responses map[string]json.RawMessage) bool {
	for code := range responses {
		if strings.HasPrefix(code, "4") {
			return true
		}
	}
	return false
}
