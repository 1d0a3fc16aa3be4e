package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// A client's secret is shown once, on the result page, and never on the
// list; the pages do not accept a gateway token in place of a session.
func TestAPIClientPagesShowTheSecretOnce(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testdb.New(t), nil)
	seedDemoMappings(t, ts)
	admin := ts.client(t, models.Grant{Role: models.RoleAdmin})
	res, body := ts.post(t, admin, "/departments/fleet/api-clients", url.Values{"name": {"billing"}, "owner": {"Olive <olive@example.com>"},
		"operation": {"list", "suspend"}, "expires": {"90d"}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("create: %d %.300s", res.StatusCode, body)
	}
	secret := regexp.MustCompile(`id="client-secret">([A-Za-z0-9_-]{40,})<`).FindStringSubmatch(body)
	id := regexp.MustCompile(`id="client-id">(uwsc_[a-z0-9]+)<`).FindStringSubmatch(body)
	if secret == nil || id == nil {
		t.Fatalf("the result page shows no client ID and secret: %.500s", body)
	}
	res, list := do(t, admin, http.MethodGet, ts.URL+"/departments/fleet/api-clients", nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(list, id[1]) {
		t.Fatalf("list: %d", res.StatusCode)
	}
	if strings.Contains(list, secret[1]) || strings.Contains(ts.Logs.String(), secret[1]) {
		t.Fatal("the secret appears on the list page or in the logs")
	}
	var detail string
	if err := ts.DB.Pool.QueryRow(context.Background(), "SELECT coalesce(string_agg(detail::text, ' '), '') FROM audit_events").Scan(&detail); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(detail, secret[1]) || !strings.Contains(detail, id[1]) {
		t.Fatal("the audit trail holds the secret, or not the client")
	}

	// A gateway bearer token is no session for the pages.
	tok, err := http.NewRequest(http.MethodPost, ts.URL+"/api/ts/v1/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	if err != nil {
		t.Fatal(err)
	}
	tok.SetBasicAuth(id[1], secret[1])
	tok.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r, err := anonClient().Do(tok)
	if err != nil {
		t.Fatal(err)
	}
	tokBody := readAll(r)
	m := regexp.MustCompile(`"access_token":"([^"]+)"`).FindStringSubmatch(tokBody)
	if r.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("token: %d %s", r.StatusCode, tokBody)
	}
	page, err := http.NewRequest(http.MethodGet, ts.URL+"/departments/fleet/api-clients", nil)
	if err != nil {
		t.Fatal(err)
	}
	page.Header.Set("Authorization", "Bearer "+m[1])
	r, err = anonClient().Do(page)
	if err != nil {
		t.Fatal(err)
	}
	readAll(r)
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/auth/login") {
		t.Fatalf("a page accepted a gateway token: %d", r.StatusCode)
	}
}
