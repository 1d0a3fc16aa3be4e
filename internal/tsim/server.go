// Package tsim is a faithful ThingSpace simulator for tests and the demo: the
// OAuth token endpoint, the M2M session API (login, logout, password reset),
// the Connectivity Management device calls over a seeded device inventory,
// the legacy SOAP SessionService sharing the same state, session idle
// expiry, bearer expiry, the 5-failure account lock, and fault injection
// per user. It is test-only: its admin API reveals passwords.
package tsim

import (
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Options configures a Server. Zero values take the documented defaults.
type Options struct {
	AppKey      string            // OAuth client ID (default "tsim-app-key")
	AppSecret   string            // OAuth client secret (default "tsim-app-secret")
	Users       map[string]string // username → password
	SessionIdle time.Duration     // session idle expiry (default 20m)
	BearerTTL   time.Duration     // bearer token lifetime (default 1h)
	Lockout     int               // consecutive failed logins that lock (default 5)
	Now         func() time.Time  // clock (default time.Now)
	Logger      *slog.Logger      // default: discard
}

// Server is the simulator; it is an http.Handler.
type Server struct {
	opts Options
	now  func() time.Time
	log  *slog.Logger
	mux  *http.ServeMux

	mu       sync.Mutex
	users    map[string]*user
	sessions map[string]*session // session token → session
	bearer   string              // the current bearer token, "" if none
	bearerAt time.Time           // its expiry
	stats    Stats

	tokenLatency time.Duration // see SetTokenLatency

	inv *inventory // devices; its own lock

	async *asyncMode // asynchronous actions and callbacks; its own lock
}

type session struct {
	user     string
	lastUsed time.Time
}

// New returns a simulator for opts.
func New(opts Options) *Server {
	if opts.AppKey == "" {
		opts.AppKey = "tsim-app-key"
	}
	if opts.AppSecret == "" {
		opts.AppSecret = "tsim-app-secret"
	}
	if opts.SessionIdle <= 0 {
		opts.SessionIdle = 20 * time.Minute
	}
	if opts.BearerTTL <= 0 {
		opts.BearerTTL = time.Hour
	}
	if opts.Lockout <= 0 {
		opts.Lockout = 5
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		opts:     opts,
		now:      opts.Now,
		log:      opts.Logger,
		users:    make(map[string]*user),
		sessions: make(map[string]*session),
		inv:      newInventory(),
		async:    newAsyncMode(),
	}
	for name, pw := range opts.Users {
		s.SetUser(name, pw)
	}
	s.routes()
	return s
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /api/ts/v1/oauth2/token", s.handleToken)
	m.HandleFunc("POST /api/m2m/v1/session/login", s.handleLogin)
	m.HandleFunc("POST /api/m2m/v1/session/logout", s.handleLogout)
	m.HandleFunc("PUT /api/m2m/v1/session/password/actions/reset", s.handleReset)
	s.deviceRoutes(m)
	s.asyncRoutes(m)
	m.HandleFunc("POST /api/v2/SessionService.svc", s.handleSOAP)
	m.HandleFunc("GET /_tsim/stats", s.handleAdminStats)
	m.HandleFunc("GET /_tsim/users/{name}", s.handleAdminGetUser)
	m.HandleFunc("PUT /_tsim/users/{name}", s.handleAdminPutUser)
	m.HandleFunc("POST /_tsim/users/{name}/unlock", s.handleAdminUnlock)
	m.HandleFunc("PUT /_tsim/users/{name}/faults", s.handleAdminPutFaults)
	m.HandleFunc("DELETE /_tsim/users/{name}/faults", s.handleAdminDeleteFaults)
	m.HandleFunc("PUT /_tsim/token/faults", s.handleAdminPutTokenFaults)
	m.HandleFunc("DELETE /_tsim/token/faults", s.handleAdminDeleteTokenFaults)
	// Unknown M2M resources answer like the gateway does.
	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeGatewayFault(w, http.StatusNotFound, 900906, "No matching resource found in the API for the given request")
	})
	s.mux = m
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.Requests++
	s.mu.Unlock()
	s.mux.ServeHTTP(w, r)
}
