package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/testdb"
)

// Nobody signed out learns the version: not from /healthz, not from a page.
func TestVersionIsNotPublic(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testdb.New(t), nil) // its version is "test"
	for _, p := range []string{"/healthz", "/login/local", "/no-such-page"} {
		_, body := do(t, anonClient(), http.MethodGet, ts.URL+p, nil)
		if strings.Contains(body, `"version"`) || strings.Contains(body, "uwsportal test") {
			t.Errorf("%s tells the version: %.200s", p, body)
		}
	}
}
