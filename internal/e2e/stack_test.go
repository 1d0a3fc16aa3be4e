package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/uwsportal/uwsportal/internal/testutil"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/cli"
	"github.com/uwsportal/uwsportal/internal/devidp"
	"github.com/uwsportal/uwsportal/internal/notify/channel/channeltest"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/internal/tsim"
	"github.com/uwsportal/uwsportal/models"
)

const (
	appKey       = "e2e-app-key"
	idpClientID  = "uwsportal"
	fleetUWSUser = "fleet_ops_mycompanyUWS"
	fleetAccount = "0000123456-00001"
)

// stack is the portal with everything around it, in this process: the
// ThingSpace simulator, the development IdP and a fresh database.
type stack struct {
	base    string // the portal, e.g. http://127.0.0.1:41234
	dbURL   string
	sim     *tsim.Server
	logs    *testutil.Buffer // the portal's JSON log lines
	secrets *secretSet       // every secret the stack handed out or saw
	// initialPassword is the fleet UWS password the admin enters; the
	// simulator knows it from the start.
	initialPassword string
	// mail is the mail server notifications go to (plain SMTP on loopback).
	mail *channeltest.SMTPServer
}

// startStack wires the stack as cmd/demo does, on free loopback ports, and
// returns once the portal answers /readyz.
func startStack(t *testing.T) *stack {
	t.Helper()
	s := &stack{dbURL: testdb.URL(t), logs: &testutil.Buffer{}, secrets: &secretSet{}, mail: channeltest.NewPlainSMTPServer(t)}

	appSecret, idpSecret, masterKey := s.newSecrets()

	s.sim = tsim.New(tsim.Options{AppKey: appKey, AppSecret: appSecret})
	s.sim.SetUser(fleetUWSUser, s.initialPassword)
	s.sim.SeedDevices(fleetAccount, 40, 1)
	simSrv := httptest.NewServer(capture(t, s.sim, s.secrets, "ThingSpace"))
	t.Cleanup(simSrv.Close)

	portalAddr := freeAddr(t)
	s.base = "http://" + portalAddr
	idpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	idpURL := "http://" + idpLn.Addr().String()
	idp, err := devidp.New(devidp.Config{
		Issuer: idpURL, ClientID: idpClientID, ClientSecret: idpSecret,
		RedirectURIs:           []string{s.base + "/auth/callback"},
		PostLogoutRedirectURIs: []string{s.base + "/signed-out"},
		Users:                  devidp.DefaultUsers(),
	})
	if err != nil {
		t.Fatal(err)
	}
	idpSrv := &httptest.Server{Listener: idpLn, Config: &http.Server{Handler: capture(t, idp, s.secrets, "IdP"), ReadHeaderTimeout: 5 * time.Second}}
	idpSrv.Start()
	t.Cleanup(idpSrv.Close)

	env := map[string]string{
		"DATABASE_URL":               s.dbURL,
		"UWSPORTAL_MASTER_KEY":       masterKey,
		"UWSPORTAL_ADDR":             portalAddr,
		"UWSPORTAL_BASE_URL":         s.base,
		"OIDC_ISSUER":                idpURL,
		"OIDC_CLIENT_ID":             idpClientID,
		"OIDC_CLIENT_SECRET":         idpSecret,
		"UWSPORTAL_ADMIN_GROUPS":     "uwsportal-admins",
		"THINGSPACE_URL":             simSrv.URL,
		"THINGSPACE_SOAP_URL":        simSrv.URL + "/api/v2/SessionService.svc",
		"THINGSPACE_APP_KEY":         appKey,
		"THINGSPACE_APP_SECRET":      appSecret,
		"UWSPORTAL_SCHEDULER":        "false",
		"UWSPORTAL_LOG_LEVEL":        "debug", // the secret scan reads every line there is
		"UWSPORTAL_SHUTDOWN_TIMEOUT": "5s",
		"UWSPORTAL_SMTP_ADDR":        s.mail.Addr,
		"UWSPORTAL_SMTP_FROM":        "uwsportal@example.com",
		"UWSPORTAL_SMTP_TLS":         "none", // loopback
	}
	getenv := func(k string) string { return env[k] }

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- cli.Run(ctx, []string{"uwsportal", "serve"}, getenv, cli.Stdio{In: strings.NewReader(""), Out: s.logs, Err: s.logs})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("portal stopped with an error: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("portal did not stop within 20s of its context ending")
		}
	})
	if err := waitReady(s.base, done, 30*time.Second); err != nil {
		t.Fatalf("portal did not become ready: %v\nportal log:\n%s", err, s.logs.String())
	}
	return s
}

// newSecrets makes the stack's secrets, each one known to the scan.
func (s *stack) newSecrets() (appSecret, idpSecret, masterKey string) {
	appSecret = "e2e-app-secret-" + secret.GenerateKey()[:16]
	idpSecret = "e2e-idp-secret-" + secret.GenerateKey()[:16]
	masterKey = secret.GenerateKey()
	s.initialPassword = models.GeneratePassword("Init", "")
	s.secrets.add("master key", masterKey)
	s.secrets.add("ThingSpace app secret", appSecret)
	s.secrets.add("OIDC client secret", idpSecret)
	s.secrets.add("initial UWS password", s.initialPassword)
	return appSecret, idpSecret, masterKey
}

// freeAddr returns a loopback address with a port that was free a moment
// ago; the portal binds it itself.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitReady polls /readyz until it answers 200, the portal exits, or the
// deadline passes.
func waitReady(base string, exited <-chan error, within time.Duration) error {
	deadline := time.Now().Add(within)
	client := &http.Client{Timeout: 2 * time.Second}
	last := errors.New("no answer yet")
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("portal exited: %v", err)
		default:
		}
		res, err := client.Get(base + "/readyz")
		if err == nil {
			err = res.Body.Close()
		}
		switch {
		case err != nil:
			last = err
		case res.StatusCode == http.StatusOK:
			return nil
		default:
			last = fmt.Errorf("/readyz answered %s", res.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return last
}

// capture serves h and records the tokens in its answers (OAuth and
// ThingSpace session tokens, OIDC codes), so the secret scan can look for
// them. The handlers here answer small bodies; nothing streams or hijacks.
// An answer that cannot be passed on fails t.
func capture(t testing.TB, h http.Handler, set *secretSet, who string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		res := rec.Result()
		if loc := res.Header.Get("Location"); loc != "" {
			if u, err := url.Parse(loc); err == nil {
				if code := u.Query().Get("code"); code != "" {
					set.add(who+" authorization code", code)
				}
			}
		}
		if strings.Contains(res.Header.Get("Content-Type"), "json") {
			var m map[string]any
			if json.Unmarshal(rec.Body.Bytes(), &m) == nil {
				for _, k := range []string{"access_token", "id_token", "refresh_token", "sessionToken"} {
					if v, ok := m[k].(string); ok && v != "" {
						set.add(who+" "+k, v)
					}
				}
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		if _, err := w.Write(rec.Body.Bytes()); err != nil {
			t.Errorf("%s: passing on the answer to %s %s: %v", who, r.Method, r.URL.Path, err)
		}
	})
}

// secretSet collects secrets by label; handlers add to it concurrently.
type secretSet struct {
	mu   sync.Mutex
	vals map[string]string // value → label
	once map[string]string // label → the one page meant to show it ("persona /path")
}

// shownOnce says the secret labelled label is meant to be on one page
// that persona loads at path (a revealed password, a signing secret), and
// on no other.
func (s *secretSet) shownOnce(label, persona, path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.once == nil {
		s.once = map[string]string{}
	}
	s.once[label] = persona + " " + path
}

func (s *secretSet) onePage(label string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.once[label]
}

func (s *secretSet) add(label, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.vals == nil {
		s.vals = map[string]string{}
	}
	if _, ok := s.vals[value]; !ok {
		s.vals[value] = label
	}
}

// all returns value → label.
func (s *secretSet) all() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.vals))
	for v, l := range s.vals {
		out[v] = l
	}
	return out
}
