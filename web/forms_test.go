package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// formCase is one bad submission: the page must come back (422) with the
// field's message beside the field, and what was typed.
type formCase struct {
	name, method, path string
	form               url.Values
	field, message     string   // the field marked invalid, and its message
	kept               []string // what was typed and must be on the page
	absent             []string // what must not be (a password)
}

func checkForm(t *testing.T, ts *testServer, c *http.Client, tc formCase) {
	t.Helper()
	var res *http.Response
	var body string
	if tc.method == http.MethodGet {
		res, body = do(t, c, http.MethodGet, ts.URL+tc.path+"?"+tc.form.Encode(), nil)
	} else {
		res, body = ts.post(t, c, tc.path, tc.form)
	}
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("%s: status %d, want 422: %.300s", tc.name, res.StatusCode, body)
		return
	}
	errSpan := `<span class="field-error" id="error-` + tc.field + `">`
	i := strings.Index(body, errSpan)
	if i < 0 {
		t.Errorf("%s: no error beside field %q", tc.name, tc.field)
		return
	}
	if msg := body[i+len(errSpan):]; !strings.Contains(strings.ToLower(msg[:strings.Index(msg, "<")]), strings.ToLower(tc.message)) {
		t.Errorf("%s: the error beside %q does not mention %q: %.200s", tc.name, tc.field, tc.message, msg)
	}
	if !strings.Contains(body, `aria-describedby="error-`+tc.field+`"`) {
		t.Errorf("%s: field %q is not tied to its message", tc.name, tc.field)
	}
	for _, k := range tc.kept {
		if !strings.Contains(body, k) {
			t.Errorf("%s: what was typed is lost: %q", tc.name, k)
		}
	}
	for _, a := range tc.absent {
		if strings.Contains(body, a) {
			t.Errorf("%s: %q is on the page", tc.name, a)
		}
	}
}

func TestFormsKeepInputAndShowFieldErrors(t *testing.T) {
	t.Parallel()
	ts, _ := newTSimServer(t)
	admin := ts.client(t, models.Grant{Role: models.RoleAdmin})
	cases := []formCase{
		{name: "API client without a name", method: http.MethodPost, path: "/departments/fleet/api-clients",
			form:  url.Values{"name": {""}, "owner": {"Olive Ops <olive@example.com>"}, "operation": {"list", "suspend"}, "expires": {"180d"}},
			field: "name", message: "name", kept: []string{`value="Olive Ops &lt;olive@example.com&gt;"`, `value="suspend" checked`, `value="180d" selected`}},
		{name: "API client owner unknown", method: http.MethodPost, path: "/departments/fleet/api-clients",
			form:  url.Values{"name": {"billing sync"}, "owner": {"nobody@example.com"}, "operation": {"list"}, "expires": {"30d"}},
			field: "owner", message: "no portal user", kept: []string{`value="billing sync"`, `value="nobody@example.com"`}},
		{name: "audit bad date", method: http.MethodGet, path: "/audit",
			form:  url.Values{"since": {"2024-13-45"}, "actor": {"lena"}, "q": {"rotate"}},
			field: "since", message: "not a date", kept: []string{`value="2024-13-45"`, `value="lena"`, `value="rotate"`}},
		{name: "department without a slug", method: http.MethodPost, path: "/departments",
			form:  url.Values{"slug": {"Bad Slug"}, "name": {"Night shift"}, "protocol": {"soap"}, "max_age_days": {"45"}, "account_name": {"0000123456-00001"}},
			field: "slug", message: "slug", kept: []string{`value="Bad Slug"`, `value="Night shift"`, `value="soap" selected`, `value="45"`, `value="0000123456-00001"`}},
		{name: "department bad account name", method: http.MethodPost, path: "/departments",
			form:  url.Values{"slug": {"night"}, "name": {"Night shift"}, "account_name": {"12-3"}},
			field: "account_name", message: "account name", kept: []string{`value="night"`, `value="12-3"`}},
		{name: "settings bad account name", method: http.MethodPost, path: "/departments/fleet/settings",
			form:  url.Values{"name": {"Fleet renamed"}, "protocol": {"soap"}, "account_name": {"99-1"}, "approve_rotate": {"on"}},
			field: "account_name", message: "account name", kept: []string{`value="Fleet renamed"`, `value="99-1"`, `id="approve-rotate" checked`}},
		{name: "credential without a username", method: http.MethodPost, path: "/departments/fleet/credential",
			form:  url.Values{"username": {""}, "password": {"Typed-Pa55word-x"}, "count_reset": {"on"}},
			field: "username", message: "username", kept: []string{`name="count_reset" value="on" checked`}, absent: []string{"Typed-Pa55word-x"}},
		{name: "credential keeps the failures mark", method: http.MethodPost, path: "/departments/fleet/credential",
			form: url.Values{"username": {""}, "password": {"Typed-Pa55word-x"}, "verify": {"on"}, "count_reset": {"on"},
				"count_reset_user": {"typed_userUWS"}, "count_reset_mark": {"7"}},
			field: "username", message: "username",
			kept: []string{`name="count_reset_user" value="typed_userUWS"`, `name="count_reset_mark" value="7"`, "since this page was opened"}},
		{name: "credential weak password", method: http.MethodPost, path: "/departments/fleet/credential",
			form:  url.Values{"username": {"typed_userUWS"}, "password": {"password"}},
			field: "password", message: "upper-case", kept: []string{`value="typed_userUWS"`}},
		{name: "mapping lead without department", method: http.MethodPost, path: "/admin/mappings",
			form:  url.Values{"group": {"night-leads"}, "role": {"lead"}, "department": {""}},
			field: "department", message: "needs a department", kept: []string{`value="night-leads"`, `value="lead" selected`}},
		{name: "notification bad kind", method: http.MethodPost, path: "/admin/notifications",
			form:  url.Values{"kind": {"pager"}, "target": {"https://example.com/hook"}, "department": {"fleet"}},
			field: "kind", message: "unknown channel kind", kept: []string{`value="fleet" selected`}},
		{name: "network not a network", method: http.MethodPost, path: "/admin/notifications/networks",
			form:  url.Values{"name": {"lab"}, "network": {"not-a-cidr"}},
			field: "network", message: "", kept: []string{`value="lab"`, `value="not-a-cidr"`}},
	}
	for _, tc := range cases {
		checkForm(t, ts, admin, tc)
	}
}

// The schedule form keeps its typed values beside its error; it shows only
// once the department has a credential.
func TestScheduleFormKeepsInput(t *testing.T) {
	t.Parallel()
	ts, _ := newTSimServer(t)
	admin := ts.client(t, models.Grant{Role: models.RoleAdmin})
	if res, body := ts.post(t, admin, "/departments/fleet/credential", url.Values{"username": {fleetUser}, "password": {fleetPassword}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("credential: %d %.300s", res.StatusCode, body)
	}
	checkForm(t, ts, admin, formCase{name: "schedule max age 0", method: http.MethodPost, path: "/departments/fleet/schedule",
		form: url.Values{"max_age_days": {"0"}}, field: "max_age_days", message: "maximum age",
		kept: []string{`id="schedule-max-age" min="1" max="3650" value="0"`}})
}

// A name not given is refused before anything is made, and the list stays
// empty; the confirmation pages come before a rotation or a revocation.
func TestAPIClientConfirmationPages(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testdb.New(t), nil)
	seedDemoMappings(t, ts)
	admin := ts.client(t, models.Grant{Role: models.RoleAdmin})
	res, body := ts.post(t, admin, "/departments/fleet/api-clients", url.Values{"name": {"billing"}, "owner": {"Olive <olive@example.com>"},
		"operation": {"list"}, "expires": {"90d"}})
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `data-copy="client-secret"`) || !strings.Contains(body, "/api/ts/v1/oauth2/token") ||
		!strings.Contains(body, `id="client-base"`) {
		t.Fatalf("secret page: %d, no copy button, base URL or curl example: %.500s", res.StatusCode, body)
	}
	_, list := do(t, admin, http.MethodGet, ts.URL+"/departments/fleet/api-clients", nil)
	i := strings.Index(list, "/api-clients/uwsc_")
	if i < 0 {
		t.Fatalf("no client link on the list: %.2000s", list)
	}
	id := list[i+len("/api-clients/") : i+strings.Index(list[i:], "/rotate")]
	if !strings.Contains(list, `<td class="last-used">never</td>`) {
		t.Error("a client never used does not say so")
	}
	secret := body[strings.Index(body, `id="client-secret">`)+len(`id="client-secret">`):]
	secret = secret[:strings.Index(secret, "<")]
	tok, err := http.NewRequest(http.MethodPost, ts.URL+"/api/ts/v1/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	if err != nil {
		t.Fatal(err)
	}
	tok.SetBasicAuth(id, secret)
	tok.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if r, err := anonClient().Do(tok); err != nil || r.StatusCode != http.StatusOK {
		t.Fatalf("token: %v %v", r, err)
	} else if err := r.Body.Close(); err != nil {
		t.Fatal(err)
	}
	if _, list = do(t, admin, http.MethodGet, ts.URL+"/departments/fleet/api-clients", nil); strings.Contains(list, `<td class="last-used">never</td>`) {
		t.Error("a client that fetched a token is still never used")
	}
	if strings.Contains(list, `action="/departments/fleet/api-clients/`+id+`/revoke"`) {
		t.Fatal("the list revokes in one click")
	}
	for _, action := range []string{"rotate", "revoke"} {
		res, page := do(t, admin, http.MethodGet, ts.URL+"/departments/fleet/api-clients/"+id+"/"+action, nil)
		if res.StatusCode != http.StatusOK || !strings.Contains(page, `action="/departments/fleet/api-clients/`+id+`/`+action+`"`) || !strings.Contains(page, "billing") {
			t.Fatalf("%s confirmation: %d %.500s", action, res.StatusCode, page)
		}
	}
	if res, _ := do(t, admin, http.MethodGet, ts.URL+"/departments/fleet/api-clients/uwsc_nope/revoke", nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown client: %d", res.StatusCode)
	}
}

// An admin who opens reveal where it is off is told where to turn it on.
func TestRevealOffPointsAtTheSetting(t *testing.T) {
	t.Parallel()
	ts, _ := newTSimServer(t)
	admin := ts.client(t, models.Grant{Role: models.RoleAdmin})
	if res, body := ts.post(t, admin, "/departments/fleet/credential", url.Values{"username": {fleetUser}, "password": {fleetPassword}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("credential: %d %.300s", res.StatusCode, body)
	}
	res, body := do(t, admin, http.MethodGet, ts.URL+"/departments/fleet/reveal", nil)
	if res.StatusCode != http.StatusForbidden || !strings.Contains(body, `id="reveal-setting"`) || !strings.Contains(body, "#settings-form") {
		t.Fatalf("reveal off: %d %.1500s", res.StatusCode, body)
	}
}

// The credential form carries the failures mark of its username as of the
// page's rendering; a count reset submitted with it counts the failures
// recorded since, so one that lands after Verizon's reset but before the
// submission cannot let the claimed verifications make a fifth.
func TestCredentialFormCarriesTheFailuresMark(t *testing.T) {
	t.Parallel()
	ts, sim := newTSimServer(t)
	admin := ts.client(t, models.Grant{Role: models.RoleAdmin})
	if res, body := ts.post(t, admin, "/departments/fleet/credential", url.Values{"username": {fleetUser}, "password": {fleetPassword}, "verify": {"on"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("credential: %d %.300s", res.StatusCode, body)
	}
	const wrong = "Wr0ng-Guess!Number"
	for range 2 { // failures before the administrator opens the page
		if res, body := ts.post(t, admin, "/departments/fleet/credential", url.Values{"username": {fleetUser}, "password": {wrong}, "verify": {"on"}}); res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("wrong guess: %d %.300s", res.StatusCode, body)
		}
	}
	_, page := do(t, admin, http.MethodGet, ts.URL+"/departments/fleet", nil)
	if !strings.Contains(page, `name="count_reset_user" value="`+fleetUser+`"`) || !strings.Contains(page, `name="count_reset_mark" value="2"`) {
		t.Fatalf("the credential form does not carry the failures mark: %.3000s", page[strings.Index(page, `id="credential-form"`):])
	}
	// Verizon unlocks the account; another verification fails after that.
	if err := sim.Unlock(fleetUser); err != nil {
		t.Fatal(err)
	}
	if res, body := ts.post(t, admin, "/departments/fleet/credential", url.Values{"username": {fleetUser}, "password": {wrong}, "verify": {"on"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("wrong guess after the reset: %d %.300s", res.StatusCode, body)
	}
	// The administrator submits the statement from the page, with a
	// wrong password, again and again (the username typed in another case).
	for range 6 {
		ts.post(t, admin, "/departments/fleet/credential", url.Values{"username": {fleetUser}, "password": {wrong}, "verify": {"on"},
			"count_reset": {"on"}, "count_reset_user": {strings.ToUpper(fleetUser)}, "count_reset_mark": {"2"}})
	}
	up, _ := sim.User(fleetUser)
	if up.Locked || up.MaxConsecutiveFailures > 4 || up.ConsecutiveFailures != 4 {
		t.Fatalf("the statement's attempts, want exactly those left before ThingSpace's lock: %+v", up)
	}
}
