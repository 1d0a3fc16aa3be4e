package web

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/devidp"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// ssoEnv starts devidp and returns the portal environment pointing at it.
func ssoEnv(t *testing.T) map[string]string {
	t.Helper()
	portal, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + portal.Addr().String()
	if err := portal.Close(); err != nil { // newTestServer binds its own; we only needed a free port
		t.Fatal(err)
	}
	idpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + idpLn.Addr().String()
	h, err := devidp.New(devidp.Config{Issuer: issuer, ClientID: "uwsportal", ClientSecret: "test-secret",
		RedirectURIs: []string{base + "/auth/callback"}, PostLogoutRedirectURIs: []string{base + "/"}, Users: devidp.DefaultUsers()})
	if err != nil {
		t.Fatal(err)
	}
	idp := httptest.NewUnstartedServer(h)
	if err := idp.Listener.Close(); err != nil {
		t.Fatal(err)
	}
	idp.Listener = idpLn
	idp.Start()
	t.Cleanup(idp.Close)
	return map[string]string{
		"OIDC_ISSUER": issuer, "OIDC_CLIENT_ID": "uwsportal", "OIDC_CLIENT_SECRET": "test-secret",
		"UWSPORTAL_ADMIN_GROUPS": "uwsportal-admins", "UWSPORTAL_BASE_URL": base,
	}
}

// newSSOServer is a portal wired to devidp, with the demo mappings.
func newSSOServer(t *testing.T) *testServer {
	t.Helper()
	env := ssoEnv(t)
	base, err := url.Parse(env["UWSPORTAL_BASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServerAt(t, testdb.New(t), env, base.Host)
	seedDemoMappings(t, ts)
	return ts
}

func seedDemoMappings(t *testing.T, ts *testServer) {
	t.Helper()
	ctx := context.Background()
	cli := &models.Principal{Actor: "cli:test", Name: "test", Grants: []models.Grant{{Role: models.RoleAdmin}}}
	for _, slug := range []string{"fleet", "field-ops"} {
		err := ts.DB.WithTx(ctx, func(tx *store.Tx) error {
			_, err := ts.DB.CreateDepartment(ctx, tx, models.Department{Slug: slug, Name: slug, Protocol: "rest", MaxAgeDays: 90})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []models.Mapping{
		{Group: "uwsportal-auditors", Role: models.RoleAuditor},
		{Group: "fleet-leads", Role: models.RoleLead, Department: "fleet"},
		{Group: "fleet-members", Role: models.RoleMember, Department: "fleet"},
		{Group: "field-ops-leads", Role: models.RoleLead, Department: "field-ops"},
	} {
		if _, err := ts.people.CreateMapping(ctx, cli, models.RequestMeta{}, m); err != nil {
			t.Fatal(err)
		}
	}
}

// signIn runs the whole OIDC flow for a devidp user and returns the client
// and the page the portal redirected to at the end.
func signIn(t *testing.T, ts *testServer, user, next string) (*http.Client, string) {
	t.Helper()
	c := anonClient()
	res, _ := do(t, c, http.MethodGet, ts.URL+"/auth/login?next="+url.QueryEscape(next), nil)
	if res.StatusCode != http.StatusFound {
		t.Fatalf("login: %d", res.StatusCode)
	}
	cb, err := devidp.SignIn(context.Background(), c, res.Header.Get("Location"), user)
	if err != nil {
		t.Fatalf("devidp: %v", err)
	}
	res, body := do(t, c, http.MethodGet, cb.String(), nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback: %d %s", res.StatusCode, body)
	}
	return c, res.Header.Get("Location")
}

func sessionCookie(t *testing.T, c *http.Client, base string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "uwsportal_session" {
			return ck.Value
		}
	}
	return ""
}

func TestSignInForEachRole(t *testing.T) {
	t.Parallel()
	ts := newSSOServer(t)
	cases := map[string]struct {
		roles []string
		page  string // something the dashboard or its nav shows
	}{
		"alice": {[]string{"admin"}, "Mappings"},
		"oscar": {[]string{"auditor"}, "Audit"},
		"lena":  {[]string{"lead:fleet"}, "Credentials"},
		"mike":  {[]string{"member:fleet"}, "Credentials"},
		"fiona": {[]string{"lead:field-ops"}, "Credentials"},
		"nora":  {nil, "No access yet"},
	}
	for user, tc := range cases {
		c, next := signIn(t, ts, user, "/")
		if next != "/" {
			t.Fatalf("%s: redirected to %q", user, next)
		}
		res, body := do(t, c, http.MethodGet, ts.URL+"/", nil)
		if res.StatusCode != 200 || !strings.Contains(body, tc.page) {
			t.Fatalf("%s: %d, want %q in the page: %s", user, res.StatusCode, tc.page, body)
		}
		var roles []string
		err := ts.DB.Pool.QueryRow(context.Background(), `SELECT coalesce(array_agg(g.role || coalesce(nullif(':' || g.department, ':'), '') ORDER BY g.role) FILTER (WHERE g.role IS NOT NULL), '{}')
			FROM users u LEFT JOIN user_grants g ON g.user_id = u.id WHERE u.subject = $1 GROUP BY u.id`, user).Scan(&roles)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(roles, tc.roles) && !(len(roles) == 0 && len(tc.roles) == 0) {
			t.Errorf("%s: roles %v, want %v", user, roles, tc.roles)
		}
	}
	if n := strings.Count(strings.Join(ts.events(t), " "), models.EvSignInSucceeded); n != 6 {
		t.Fatalf("%d sign-in events, want 6", n)
	}
	// nora's page says whom to ask.
	c, _ := signIn(t, ts, "nora", "/")
	_, body := do(t, c, http.MethodGet, ts.URL+"/", nil)
	if !strings.Contains(body, "Alice Admin") {
		t.Fatalf("no-access page does not name an admin: %s", body)
	}
}

func TestSignInRestoresThePageAskedFor(t *testing.T) {
	t.Parallel()
	ts := newSSOServer(t)
	c := anonClient()
	res, _ := do(t, c, http.MethodGet, ts.URL+"/admin/users?x=1", nil)
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/auth/login?next=") {
		t.Fatalf("anonymous page: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	_, next := signIn(t, ts, "alice", "/admin/users?x=1")
	if next != "/admin/users?x=1" {
		t.Fatalf("next = %q", next)
	}
	// Anything but a page gets a 401, not a redirect.
	req, err := http.NewRequest(http.MethodGet, ts.URL+"/admin/users", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	res, err = anonClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Body.Close(); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("json anonymous: %d", res.StatusCode)
	}
}

func TestOpenRedirectAttemptsLandOnTheDashboard(t *testing.T) {
	t.Parallel()
	for _, next := range []string{"//evil.example", "/\\evil.example", "https://evil.example/", "http:evil", "%2F%2Fevil.example",
		"/%2F%2Fevil.example", "/%5Cevil.example", "javascript:alert(1)", "\\\\evil", "/\t/evil", " //evil", "///evil", "/%0d%0aSet-Cookie:x"} {
		if got := safeNext(next); got != "/" {
			t.Errorf("safeNext(%q) = %q", next, got)
		}
	}
	for _, ok := range []string{"/", "/audit?actor=1&since=2026-01-01", "/departments/fleet"} {
		if got := safeNext(ok); got != ok {
			t.Errorf("safeNext(%q) = %q", ok, got)
		}
	}
	ts := newSSOServer(t)
	_, next := signIn(t, ts, "alice", "//evil.example/x")
	if next != "/" {
		t.Fatalf("redirected to %q", next)
	}
}

func TestCallbackRejectsWrongStateReplayAndIdPErrors(t *testing.T) {
	t.Parallel()
	ts := newSSOServer(t)
	ctx := context.Background()

	// Wrong state.
	c := anonClient()
	res, _ := do(t, c, http.MethodGet, ts.URL+"/auth/login", nil)
	cb, err := devidp.SignIn(ctx, c, res.Header.Get("Location"), "alice")
	if err != nil {
		t.Fatal(err)
	}
	q := cb.Query()
	q.Set("state", "forged")
	cb.RawQuery = q.Encode()
	if res, body := do(t, c, http.MethodGet, cb.String(), nil); res.StatusCode != 400 || !strings.Contains(body, "did not match") {
		t.Fatalf("wrong state: %d", res.StatusCode)
	}

	// Replayed code: the first use signs in, the replay fails.
	c = anonClient()
	res, _ = do(t, c, http.MethodGet, ts.URL+"/auth/login", nil)
	authURL := res.Header.Get("Location")
	cookies := c.Jar.Cookies(mustURL(ts.URL + "/auth/"))
	cb, err = devidp.SignIn(ctx, c, authURL, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if res, _ := do(t, c, http.MethodGet, cb.String(), nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("first use: %d", res.StatusCode)
	}
	replay := anonClient()
	replay.Jar.SetCookies(mustURL(ts.URL+"/auth/"), cookies)
	if res, _ := do(t, replay, http.MethodGet, cb.String(), nil); res.StatusCode != 400 {
		t.Fatalf("replayed code: %d", res.StatusCode)
	}

	// No pre-sign-in cookie at all.
	if res, body := do(t, anonClient(), http.MethodGet, cb.String(), nil); res.StatusCode != 400 || !strings.Contains(body, "sign in again") {
		t.Fatalf("no cookie: %d", res.StatusCode)
	}

	// The IdP says access_denied.
	c = anonClient()
	res, _ = do(t, c, http.MethodGet, ts.URL+"/auth/login", nil)
	st := mustURL(res.Header.Get("Location")).Query().Get("state")
	if res, body := do(t, c, http.MethodGet, ts.URL+"/auth/callback?error=access_denied&state="+st, nil); res.StatusCode != 403 || !strings.Contains(body, "access_denied") {
		t.Fatalf("access_denied: %d", res.StatusCode)
	}
	if failed := ts.failures(t, models.EvSignInFailed); failed < 4 {
		t.Fatalf("%d failed sign-ins audited, want ≥ 4", failed)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestSessionIDChangesAtSignIn(t *testing.T) {
	t.Parallel()
	ts := newSSOServer(t)
	c := anonClient()
	// An anonymous session exists before sign-in (a flash puts one there).
	pre := ts.sessionClient(t, 0)
	before := sessionCookie(t, pre, ts.URL)
	c.Jar.SetCookies(mustURL(ts.URL), []*http.Cookie{{Name: "uwsportal_session", Value: before, Path: "/"}})
	res, _ := do(t, c, http.MethodGet, ts.URL+"/auth/login", nil)
	cb, err := devidp.SignIn(context.Background(), c, res.Header.Get("Location"), "alice")
	if err != nil {
		t.Fatal(err)
	}
	do(t, c, http.MethodGet, cb.String(), nil)
	after := sessionCookie(t, c, ts.URL)
	if after == "" || after == before {
		t.Fatalf("session id did not change: %q → %q", before, after)
	}
}

func TestDisabledUserLosesSessionsAtOnceAndCannotSignIn(t *testing.T) {
	t.Parallel()
	ts := newSSOServer(t)
	mike, _ := signIn(t, ts, "mike", "/")
	alice, _ := signIn(t, ts, "alice", "/")
	var id int64
	if err := ts.DB.Pool.QueryRow(context.Background(), "SELECT id FROM users WHERE subject = 'mike'").Scan(&id); err != nil {
		t.Fatal(err)
	}
	if res, _ := ts.post(t, alice, "/admin/users/"+itoa(id)+"/disable", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable: %d", res.StatusCode)
	}
	if res, _ := do(t, mike, http.MethodGet, ts.URL+"/", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("disabled user's session still works: %d", res.StatusCode)
	}
	c := anonClient()
	res, _ := do(t, c, http.MethodGet, ts.URL+"/auth/login", nil)
	cb, err := devidp.SignIn(context.Background(), c, res.Header.Get("Location"), "mike")
	if err != nil {
		t.Fatal(err)
	}
	if res, body := do(t, c, http.MethodGet, cb.String(), nil); res.StatusCode != 403 || !strings.Contains(body, "disabled") {
		t.Fatalf("disabled sign-in: %d", res.StatusCode)
	}
	evs := strings.Join(ts.events(t), " ")
	for _, code := range []string{models.EvUserDisabled, models.EvSessionExpired, models.EvSignInFailed} {
		if !strings.Contains(evs, code) {
			t.Errorf("missing %s in %s", code, evs)
		}
	}
}

func TestIdleAndAbsoluteTimeouts(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testdb.New(t), nil)
	admin := []models.Grant{{Role: models.RoleAdmin}}

	c := ts.client(t, admin...)
	ts.Clock.Advance(29 * time.Minute)
	if res, _ := do(t, c, http.MethodGet, ts.URL+"/admin/users", nil); res.StatusCode != 200 {
		t.Fatalf("within idle: %d", res.StatusCode)
	}
	ts.Clock.Advance(31 * time.Minute)
	if res, _ := do(t, c, http.MethodGet, ts.URL+"/admin/users", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("after idle: %d", res.StatusCode)
	}

	// Active every 20 minutes, the session still ends at 12 hours.
	c = ts.client(t, admin...)
	for elapsed := time.Duration(0); elapsed < 12*time.Hour-20*time.Minute; elapsed += 20 * time.Minute {
		ts.Clock.Advance(20 * time.Minute)
		if res, _ := do(t, c, http.MethodGet, ts.URL+"/admin/users", nil); res.StatusCode != 200 {
			t.Fatalf("active at %v: %d", elapsed, res.StatusCode)
		}
	}
	ts.Clock.Advance(40 * time.Minute)
	if res, _ := do(t, c, http.MethodGet, ts.URL+"/admin/users", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("after 12h: %d", res.StatusCode)
	}
	if !strings.Contains(strings.Join(ts.events(t), " "), models.EvSessionExpired) {
		t.Fatal("expiry not audited")
	}
}

func TestSignOutDestroysTheSessionAndUsesEndSession(t *testing.T) {
	t.Parallel()
	ts := newSSOServer(t)
	c, _ := signIn(t, ts, "alice", "/")
	res, _ := ts.post(t, c, "/auth/logout", nil)
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "end_session") || !strings.Contains(loc, "id_token_hint=") {
		t.Fatalf("logout: %d %s", res.StatusCode, loc)
	}
	// The IdP sends the person back to the portal's own page, which says
	// they are signed out and offers to sign in again.
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	back := u.Query().Get("post_logout_redirect_uri")
	if !strings.HasSuffix(back, "/signed-out") {
		t.Fatalf("the IdP sends the person back to %q", back)
	}
	res, body := do(t, c, http.MethodGet, back, nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "You are signed out") || !strings.Contains(body, `id="sign-in-again"`) ||
		!strings.Contains(body, `href="/auth/login"`) {
		t.Fatalf("the signed-out page: %d %.1500s", res.StatusCode, body)
	}
	if res, _ := do(t, c, http.MethodGet, ts.URL+"/", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("session survived sign-out: %d", res.StatusCode)
	}
	if !strings.Contains(strings.Join(ts.events(t), " "), models.EvSignOut) {
		t.Fatal("sign-out not audited")
	}
}
