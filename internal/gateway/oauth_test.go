package gateway_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/gateway"
	"github.com/uwsportal/uwsportal/models"
)

// sdkOAuthError is what Verizon's generated SDKs make of a token
// endpoint's error (verizon-apis-python-sdk: OauthAuthorizationController
// maps 400 and 401 to OauthProviderException, which reads error,
// error_description and error_uri); ok is false where the SDK would raise
// a plain API error instead.
func sdkOAuthError(t *testing.T, a answer) (errCode string, ok bool) {
	t.Helper()
	if a.Status != http.StatusBadRequest && a.Status != http.StatusUnauthorized {
		return "", false
	}
	var e struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
		ErrorURI         string `json:"error_uri"`
	}
	if err := json.Unmarshal(a.Body, &e); err != nil {
		return "", false
	}
	known := []string{"invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type", "invalid_scope"}
	return e.Error, slices.Contains(known, e.Error) && e.ErrorDescription != ""
}

// The token endpoint's errors are OAuth's (RFC 6749 section 5.2), as the
// SDKs expect: a bad or unknown client 401 invalid_client, another grant
// unsupported_grant_type, a malformed request invalid_request.
func TestTokenErrorsAreOAuths(t *testing.T) {
	t.Parallel()
	p := newPortal(t, gateway.Limits{})
	made := p.client(t, "fleet", models.OpList)
	revoked := p.client(t, "fleet", models.OpList)
	if err := p.App.Gateway.Revoke(ctx, p.Admin, apptest.Meta, "fleet", revoked.Client.ID); err != nil {
		t.Fatal(err)
	}
	post := func(user, pass, ctype, body string) answer {
		req, err := http.NewRequest(http.MethodPost, p.URL+gateway.PathToken, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if user != "" {
			req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
		}
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Accept", "application/json")
		return send(t, req)
	}
	form := "application/x-www-form-urlencoded"
	grant := url.Values{"grant_type": {"client_credentials"}, "scope": {"list"}}.Encode()
	cases := []struct {
		name, user, pass, ctype, body string
		status                        int
		want                          string
	}{
		{"a wrong secret", made.Client.ID, "wrong", form, grant, 401, "invalid_client"},
		{"an unknown client", "uwsc_aaaaaaaaaaaaaaaaaaaa", "x", form, grant, 401, "invalid_client"},
		{"a revoked client", revoked.Client.ID, revoked.Secret, form, grant, 401, "invalid_client"},
		{"no client authentication", "", "", form, grant, 401, "invalid_client"},
		{"another grant", made.Client.ID, made.Secret, form, "grant_type=password&username=a&password=b", 400, "unsupported_grant_type"},
		{"no grant", made.Client.ID, made.Secret, form, "scope=list", 400, "invalid_request"},
		{"JSON", made.Client.ID, made.Secret, "application/json", `{"grant_type":"client_credentials"}`, 400, "invalid_request"},
	}
	for _, c := range cases {
		a := post(c.user, c.pass, c.ctype, c.body)
		got, ok := sdkOAuthError(t, a)
		if a.Status != c.status || !ok || got != c.want {
			t.Errorf("%s: %d %.200s, want %d and the SDK's OAuth error %s", c.name, a.Status, a.Body, c.status, c.want)
		}
		if c.status == 401 && !strings.HasPrefix(a.Header.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("%s: WWW-Authenticate %q", c.name, a.Header.Get("WWW-Authenticate"))
		}
	}
	if a := post(made.Client.ID, made.Secret, form, grant); a.Status != http.StatusOK {
		t.Fatalf("the good request: %d %.200s", a.Status, a.Body)
	}
}
