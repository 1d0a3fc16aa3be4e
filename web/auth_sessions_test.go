package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"

	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

func TestSessionsSurviveARestartAndWorkAcrossInstances(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	a := newTestServer(t, db, nil)
	c := a.client(t, models.Grant{Role: models.RoleAdmin})
	b := newTestServer(t, db, nil) // a second instance (or the restarted one) on the same database
	c.Jar.SetCookies(mustURL(b.URL), c.Jar.Cookies(mustURL(a.URL)))
	if res, _ := do(t, c, http.MethodGet, b.URL+"/admin/users", nil); res.StatusCode != 200 {
		t.Fatalf("other instance: %d", res.StatusCode)
	}
}

func TestIdPDownKeepsSessionsWorking(t *testing.T) {
	t.Parallel()
	env := map[string]string{"OIDC_ISSUER": "http://127.0.0.1:1", "OIDC_CLIENT_ID": "x", "OIDC_CLIENT_SECRET": "y"}
	ts := newTestServer(t, testdb.New(t), env)
	c := ts.client(t, models.Grant{Role: models.RoleAuditor})
	if res, _ := do(t, c, http.MethodGet, ts.URL+"/", nil); res.StatusCode != 200 {
		t.Fatalf("session while IdP down: %d", res.StatusCode)
	}
	if res, body := do(t, anonClient(), http.MethodGet, ts.URL+"/auth/login", nil); res.StatusCode != 503 || !strings.Contains(body, "identity provider cannot be reached") {
		t.Fatalf("login while IdP down: %d", res.StatusCode)
	}
}

// A signed-in person's session is stored as the previous release stores
// it (scs's gob), so that instances of both serve one person during a
// rolling upgrade and a rollback signs nobody out.
func TestSessionsStayReadableByThePreviousRelease(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ts := newTestServer(t, db, nil)
	c := ts.client(t, models.Grant{Role: models.RoleAdmin})
	if res, _ := do(t, c, http.MethodGet, ts.URL+"/", nil); res.StatusCode != 200 {
		t.Fatalf("dashboard: %d", res.StatusCode)
	}
	var data [][]byte
	if err := db.Pool.QueryRow(t.Context(), `SELECT coalesce(array_agg(data), '{}') FROM sessions`).Scan(&data); err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 {
		t.Fatal("no session stored")
	}
	for _, d := range data {
		if _, values, err := (scs.GobCodec{}).Decode(d); err != nil || values[keyUser] == nil {
			t.Fatalf("gob reads a stored session as %v: %v", values, err)
		}
	}
}
