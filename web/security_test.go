package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// FuzzSafeNext: whatever comes in, the return-to target is a same-origin
// relative path.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "//evil", "/\\evil", "https://evil", "/ok?x=1", "%2F%2Fevil", "/%5c%5cevil", "/\x00", "///x", "/.//x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := safeNext(in)
		if !strings.HasPrefix(out, "/") || strings.HasPrefix(out, "//") || strings.HasPrefix(out, "/\\") || strings.ContainsAny(out, "\r\n\t\\") {
			t.Fatalf("safeNext(%q) = %q", in, out)
		}
		u, err := url.Parse(out)
		if err != nil || u.Host != "" || u.Scheme != "" {
			t.Fatalf("safeNext(%q) = %q leaves the origin", in, out)
		}
		// The browser resolves it against the portal: it must stay there.
		base, err := url.Parse("https://portal.example")
		if err != nil {
			t.Fatal(err)
		}
		if r := base.ResolveReference(u); r.Host != "portal.example" {
			t.Fatalf("safeNext(%q) = %q resolves to %s", in, out, r)
		}
	})
}

func TestCookieFlags(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testdb.New(t), map[string]string{"UWSPORTAL_BASE_URL": "https://portal.example.com",
		"OIDC_ISSUER": "http://127.0.0.1:1", "OIDC_CLIENT_ID": "x", "OIDC_CLIENT_SECRET": "y"})
	c := ts.client(t, models.Grant{Role: models.RoleAdmin})
	// A sign-in sets the session cookie; a flash forces a fresh one here.
	res, _ := ts.post(t, c, "/admin/mappings", url.Values{"group": {"g"}, "role": {"auditor"}})
	cookies := map[string]*http.Cookie{}
	for _, ck := range res.Cookies() {
		cookies[ck.Name] = ck
	}
	res, _ = do(t, anonClient(), http.MethodGet, ts.URL+"/login/local", nil)
	for _, ck := range res.Cookies() {
		cookies[ck.Name] = ck
	}
	if cookies["uwsportal_csrf"] != nil {
		t.Error("a CSRF cookie is set: the token belongs in the server-side session")
	}
	for _, name := range []string{"uwsportal_session"} {
		ck := cookies[name]
		if ck == nil {
			t.Fatalf("%s not set", name)
		}
		if !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteLaxMode {
			t.Errorf("%s: HttpOnly %v Secure %v SameSite %v", name, ck.HttpOnly, ck.Secure, ck.SameSite)
		}
	}
	if cookies["uwsportal_session"].MaxAge > 0 || !cookies["uwsportal_session"].Expires.IsZero() {
		t.Error("the session cookie should not outlive the browser session")
	}
}

func TestEveryPageCarriesTheSecurityHeaders(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testdb.New(t), nil)
	c := ts.client(t, models.Grant{Role: models.RoleAdmin})
	for _, path := range []string{"/", "/admin/users", "/audit", "/departments", "/login/local", "/no-such-page", "/healthz"} {
		res, body := do(t, c, http.MethodGet, ts.URL+path, nil)
		// The CSP forbids inline styles and scripts: none may be written.
		if strings.Contains(body, " style=") || strings.Contains(body, "<script>") || strings.Contains(body, " onclick=") {
			t.Errorf("%s: inline style or script in the page", path)
		}
		h := res.Header
		if !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("Referrer-Policy") == "" || h.Get("X-Request-Id") == "" {
			t.Errorf("%s: headers %v", path, h)
		}
		if path != "/healthz" && h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", path, h.Get("Cache-Control"))
		}
	}
}

// Pages are sent gzipped to a browser that accepts it (the gateway's
// answers are not: internal/gateway).
func TestPagesAreCompressed(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testdb.New(t), nil)
	c := ts.client(t, models.Grant{Role: models.RoleAdmin})
	res, body := do(t, c, http.MethodGet, ts.URL+"/", nil) // the client asks for gzip and unpacks it
	if res.StatusCode != http.StatusOK || len(body) < 1024 {
		t.Fatalf("dashboard: %d, %d bytes", res.StatusCode, len(body))
	}
	if !res.Uncompressed {
		t.Fatal("the dashboard was not sent gzipped")
	}
}
