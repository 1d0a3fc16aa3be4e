package gateway_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/config"
	"github.com/uwsportal/uwsportal/internal/gateway"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
	"github.com/uwsportal/uwsportal/web"
)

const (
	account = "0000123456-00001"
	other   = "0000654321-00002"
)

var ctx = context.Background()

// portal is a whole portal (web server included) over the simulator, with
// department fleet (account, credential, 50 devices) and beta.
type portal struct {
	*apptest.Env
	URL   string
	dbURL string
}

func newPortal(t testing.TB, limits gateway.Limits) *portal {
	t.Helper()
	dbURL := testdb.URL(t)
	return newPortalOn(t, limits, dbURL, apptest.OpenDB(t, dbURL))
}

// newPortalOn is newPortal on db, a pool on the database at dbURL.
func newPortalOn(t testing.TB, limits gateway.Limits, dbURL string, db *store.DB) *portal {
	t.Helper()
	e := apptest.New(t, apptest.Options{GatewayLimits: limits, DB: db})
	for _, d := range []struct{ slug, user, account string }{{"fleet", "fleet_uws", account}, {"beta", "beta_uws", other}} {
		e.Seed(d.slug, d.user, models.ProtocolREST)
		if err := e.App.Departments.SetAccount(ctx, e.Admin, apptest.Meta, d.slug, d.account); err != nil {
			t.Fatal(err)
		}
		e.Sim.SeedDevices(d.account, 50, 7)
	}
	return serve(t, e, dbURL)
}

// second is another instance of the portal: its own pool on the same
// database, its own web server, the same simulator, clock and keys.
func (p *portal) second(t testing.TB) *portal {
	t.Helper()
	return serve(t, p.Env.Second(apptest.OpenDB(t, p.dbURL)), p.dbURL)
}

func serve(t testing.TB, e *apptest.Env, dbURL string) *portal {
	t.Helper()
	env := map[string]string{"UWSPORTAL_MASTER_KEY": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "UWSPORTAL_BASE_URL": "http://127.0.0.1:1"}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	e.App.Config = cfg
	srv, err := web.New(web.Deps{App: e.App, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &portal{Env: e, URL: ts.URL, dbURL: dbURL}
}

// client creates an API client of slug allowed ops, as the admin.
func (p *portal) client(t testing.TB, slug string, ops ...models.Operation) gateway.Created {
	t.Helper()
	c, err := p.App.Gateway.Create(ctx, p.Admin, apptest.Meta, slug, gateway.CreateInput{Name: "app " + slug,
		Owner: "Olive Owner <olive@example.com>", Operations: ops})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// vz is an application written only from Verizon's documented requests:
// the OAuth token with the app key and secret, the M2M session login with
// the UWS username and password, then calls with both tokens. It knows
// nothing of the portal but its base URL.
type vz struct {
	t                  testing.TB
	base               string
	appKey, appSecret  string
	username, password string
	token, session     string
	lastExpiresIn      int // the last token answer's expires_in
}

func (p *portal) app(t testing.TB, c gateway.Created) *vz {
	return &vz{t: t, base: p.URL, appKey: c.Client.ID, appSecret: c.Secret, username: c.Client.ID, password: c.Secret}
}

// answer is an HTTP answer.
type answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// listed: a list's answer (ThingSpace says 202 when there are more).
func (a answer) listed() bool { return a.Status == http.StatusOK || a.Status == http.StatusAccepted }

func (a answer) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.Body, &m); err != nil {
		t.Fatalf("answer %d is not JSON: %v: %.200s", a.Status, err, a.Body)
	}
	return m
}

// code is the M2M errorCode, or the fault's code as text.
func (a answer) code(t testing.TB) string {
	t.Helper()
	m := a.json(t)
	if c, ok := m["errorCode"].(string); ok {
		return c
	}
	if e, ok := m["error"].(string); ok {
		return "oauth:" + e
	}
	if f, ok := m["fault"].(map[string]any); ok {
		return "fault:" + fmt.Sprint(f["code"])
	}
	t.Fatalf("answer %d is not in ThingSpace's error shape: %.200s", a.Status, a.Body)
	return ""
}

func send(t testing.TB, req *http.Request) answer {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{Status: res.StatusCode, Header: res.Header, Body: b}
}

// oauth is POST /api/ts/v1/oauth2/token (client credentials).
func (c *vz) oauth() answer {
	req, err := http.NewRequest(http.MethodPost, c.base+"/api/ts/v1/oauth2/token",
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.appKey+":"+c.appSecret)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	a := send(c.t, req)
	if a.Status == http.StatusOK {
		m := a.json(c.t)
		c.token, _ = m["access_token"].(string)
		exp, _ := m["expires_in"].(float64)
		c.lastExpiresIn = int(exp)
	}
	return a
}

// login is POST /api/m2m/v1/session/login.
func (c *vz) login() answer {
	a := c.do(http.MethodPost, "/api/m2m/v1/session/login", map[string]string{"username": c.username, "password": c.password}, nil)
	if a.Status == http.StatusOK {
		c.session, _ = a.json(c.t)["sessionToken"].(string)
	}
	return a
}

// start gets a token and a session, failing the test otherwise.
func (c *vz) start() *vz {
	c.t.Helper()
	if a := c.oauth(); a.Status != http.StatusOK || c.token == "" {
		c.t.Fatalf("token: %d %s", a.Status, a.Body)
	}
	if a := c.login(); a.Status != http.StatusOK || c.session == "" {
		c.t.Fatalf("login: %d %s", a.Status, a.Body)
	}
	return c
}

// do sends an M2M request with the bearer token and (after login) the
// session token, body as JSON.
func (c *vz) do(method, path string, body any, header map[string]string) answer {
	c.t.Helper()
	return send(c.t, c.request(method, path, body, header))
}

// request is the request do sends.
func (c *vz) request(method, path string, body any, header map[string]string) *http.Request {
	c.t.Helper()
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			c.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(b))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if c.session != "" {
		req.Header.Set("VZ-M2M-Token", c.session)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return req
}

func (c *vz) list(acct string) answer {
	return c.do(http.MethodPost, "/api/m2m/v1/devices/actions/list", map[string]any{"accountName": acct, "maxNumberOfDevices": 10}, nil)
}

// act sends suspend, restore and the like for one MDN.
func (c *vz) act(op, acct, mdn string, header map[string]string) answer {
	c.t.Helper()
	return send(c.t, c.actRequest(op, acct, mdn, header))
}

// actRequest is the request act sends.
func (c *vz) actRequest(op, acct, mdn string, header map[string]string) *http.Request {
	method := http.MethodPost
	if op == "plan" {
		method = http.MethodPut
	}
	body := map[string]any{"accountName": acct, "devices": []any{map[string]any{"deviceIds": []any{map[string]string{"kind": "mdn", "id": mdn}}}}}
	return c.request(method, "/api/m2m/v1/devices/actions/"+op, body, header)
}

// activeMDN is an active device's MDN upstream, read through the gateway.
func activeMDN(t testing.TB, c *vz) string {
	t.Helper()
	return activeMDNs(t, c, 1)[0]
}

// activeMDNs is the MDNs of n different active devices on the account.
func activeMDNs(t testing.TB, c *vz, n int) []string {
	t.Helper()
	a := c.list(account)
	if a.Status != http.StatusOK && a.Status != http.StatusAccepted {
		t.Fatalf("list: %d %s", a.Status, a.Body)
	}
	var res struct {
		Devices []struct {
			DeviceIDs []struct{ Kind, ID string } `json:"deviceIds"`
			Carrier   []struct{ State string }    `json:"carrierInformations"`
		} `json:"devices"`
	}
	if err := json.Unmarshal(a.Body, &res); err != nil {
		t.Fatal(err)
	}
	var mdns []string
	for _, d := range res.Devices {
		if len(d.Carrier) == 0 || !strings.EqualFold(d.Carrier[0].State, "active") {
			continue
		}
		for _, id := range d.DeviceIDs {
			if id.Kind == "mdn" && len(mdns) < n {
				mdns = append(mdns, id.ID)
			}
		}
	}
	if len(mdns) < n {
		t.Fatalf("%d active devices with an MDN, want %d", len(mdns), n)
	}
	return mdns
}

func (p *portal) state(t testing.TB, mdn string) string {
	t.Helper()
	d, ok := p.Sim.Device(account, mdn)
	if !ok {
		t.Fatalf("simulator has no device %s", mdn)
	}
	return d.State()
}
