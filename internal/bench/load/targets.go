package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/uwsportal/uwsportal/internal/gateway"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/internal/tsim"
	"github.com/uwsportal/uwsportal/models"
)

// The simulator's OAuth app key and secret, which the portal is given.
const simAppKey, simAppSecret = "load", "load"

// sim is the ThingSpace simulator on loopback, in this process.
type sim struct {
	*tsim.Server
	url string
	srv *http.Server
}

// startSim serves a simulator that knows the fleets' users and accounts.
func startSim(fleets []fleet) (*sim, error) {
	s := tsim.New(tsim.Options{AppKey: simAppKey, AppSecret: simAppSecret})
	for _, f := range fleets {
		s.SetUser(f.user, f.password.Reveal())
		s.SeedDevices(f.account, simDevices, 3)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &sim{Server: s, url: "http://" + ln.Addr().String(), srv: srv}, nil
}

func (s *sim) close() { _ = s.srv.Close() }

// logins is how many successful logins the simulator saw for user.
func (s *sim) logins(user string) int {
	c, _ := s.User(user)
	return c.LoginsOK
}

// portalEnv is the portal's whole configuration: its database, a fresh
// master key, a free loopback address and the simulator as ThingSpace.
func portalEnv(dbURL, simURL string) (map[string]string, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	return map[string]string{
		"DATABASE_URL":          dbURL,
		"UWSPORTAL_MASTER_KEY":  secret.GenerateKey(),
		"UWSPORTAL_ADDR":        addr,
		"UWSPORTAL_BASE_URL":    "http://" + addr,
		"THINGSPACE_URL":        simURL,
		"THINGSPACE_SOAP_URL":   simURL + "/api/v2/SessionService.svc",
		"THINGSPACE_APP_KEY":    simAppKey,
		"THINGSPACE_APP_SECRET": simAppSecret,
		// The scheduler would only add background queries to what is measured.
		"UWSPORTAL_SCHEDULER": "false",
		"UWSPORTAL_LOG_LEVEL": "warn",
	}, nil
}

// signedIn is what the load sends with: the admin's session cookie and
// the API clients' tokens and sessions.
type signedIn struct {
	cookie *http.Cookie
	apps   []apiApp
}

// prepare signs the admin in and starts the API clients' sessions, on a
// portal process of its own.
func prepare(ctx context.Context, portal func() (*portalProcess, error), base, password string, clients []gateway.Created) (signedIn, error) {
	p, err := portal()
	if err != nil {
		return signedIn{}, err
	}
	defer p.stop()
	cookie, err := signIn(ctx, base, password)
	if err != nil {
		return signedIn{}, fmt.Errorf("sign in: %w", err)
	}
	apps, err := startApps(ctx, base, clients)
	if err != nil {
		return signedIn{}, fmt.Errorf("API clients: %w", err)
	}
	return signedIn{cookie: cookie, apps: apps}, nil
}

// targets are the endpoints, in the order they are loaded: the pages
// first, the gateway last.
func targets(base string, fleets []fleet, s signedIn, events int) []target {
	page := func(name, path string) target {
		return target{name: name, method: http.MethodGet, path: path, ok: only200,
			request: func(ctx context.Context, _ int) (*http.Request, error) {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
				if err != nil {
					return nil, err
				}
				req.AddCookie(s.cookie)
				// As a browser would; set by hand, the body stays compressed
				// and the generator spends no CPU inflating it.
				req.Header.Set("Accept-Encoding", "gzip")
				return req, nil
			}}
	}
	return []target{
		page("dashboard", "/"),
		page("audit search (actor, department, 30 days)", "/audit?"+auditQuery(events)),
		page("devices page (100 devices)", "/departments/"+fleets[0].slug+"/devices"),
		gatewayList(base, fleets, s.apps),
	}
}

// gatewayList is an application's device list of 100 through the
// gateway, of its own department's account. Worker w takes turns among
// its own appsPerConn clients, all of one fleet (clientFleet).
func gatewayList(base string, fleets []fleet, apps []apiApp) target {
	bodies := listBodies(fleets)
	turn := make([]int, len(apps))
	return target{name: "gateway device list (100 devices)", method: http.MethodPost, path: listPath, ok: listed,
		request: func(ctx context.Context, w int) (*http.Request, error) {
			if (w+1)*appsPerConn > len(apps) {
				return nil, errors.New("fewer API clients than connections")
			}
			i := w*appsPerConn + turn[w]%appsPerConn
			turn[w]++
			a, body := apps[i], bodies[clientFleet(fleets, i).slug]
			return listRequest(ctx, base, a, body)
		}}
}

// listPath is ThingSpace's device list, which the gateway serves as is.
const listPath = "/api/m2m/v1/devices/actions/list"

// listed is a list's success: ThingSpace answers a list with more to come
// with 202.
func listed(s int) bool { return s == http.StatusOK || s == http.StatusAccepted }

// listBodies are the lists of 100 devices of each fleet's account, by slug.
func listBodies(fleets []fleet) map[string][]byte {
	bodies := map[string][]byte{}
	for _, f := range fleets {
		bodies[f.slug], _ = json.Marshal(map[string]any{"accountName": f.account, "maxNumberOfDevices": 100})
	}
	return bodies
}

// listRequest is a device list sent to base (the gateway or ThingSpace)
// with a's bearer token and M2M session.
func listRequest(ctx context.Context, base string, a apiApp, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+listPath, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("VZ-M2M-Token", a.session)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept-Encoding", "gzip")
	return req, nil
}

// auditQuery is the audit search: one actor in one department over the
// last 30 days of the seeded trail.
func auditQuery(events int) string {
	until := testdb.SeedStart.Add(time.Duration(events) * testdb.SeedStep)
	return models.AuditFilter{Actor: "1007", Department: "dept03", Since: until.AddDate(0, 0, -30)}.Query().Encode()
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitReady(ctx context.Context, base string, exited <-chan error) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("%w: %v", errStopped, err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		res, err := http.Get(base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return errors.New("the portal did not become ready within 60 s")
}
