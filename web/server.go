// Package web is the portal's HTTP face: Echo routes, each registered with
// the permission it needs, handlers that parse, call one service method and
// render, and the middleware around them.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"sort"
	"time"

	"github.com/uwsportal/uwsportal/internal/auditlog"
	"github.com/uwsportal/uwsportal/internal/sso"

	"github.com/alexedwards/scs/v2"

	"github.com/klauspost/compress/gzhttp"
	"github.com/klauspost/compress/gzip"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/uwsportal/uwsportal/internal/app"
	"github.com/uwsportal/uwsportal/internal/approvals"
	"github.com/uwsportal/uwsportal/internal/config"
	"github.com/uwsportal/uwsportal/internal/departments"
	"github.com/uwsportal/uwsportal/internal/devices"
	"github.com/uwsportal/uwsportal/internal/gateway"
	people "github.com/uwsportal/uwsportal/internal/identity"
	"github.com/uwsportal/uwsportal/internal/metrics"
	"github.com/uwsportal/uwsportal/internal/notify"
	"github.com/uwsportal/uwsportal/internal/requests"
	"github.com/uwsportal/uwsportal/internal/rotation"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/models"
	"github.com/uwsportal/uwsportal/static"
)

// Deps are what the server needs: the portal built by the composition
// root, and the version to show.
type Deps struct {
	App     *app.App
	Version string
}

// Server is the portal's web application.
type Server struct {
	cfg       *config.Config
	log       *slog.Logger
	metrics   webMetrics
	reg       *metrics.Metrics
	version   string
	assets    *assets
	echo      *echo.Echo
	handler   http.Handler // echo, its pages gzipped
	policies  map[string]models.Permission
	people    *people.Service
	trail     *auditlog.Service
	creds     *departments.Service
	rotations *rotation.Engine
	devices   *devices.Service
	gateway   *gateway.Service
	notify    *notify.Service
	approvals *approvals.Service
	reqs      *requests.Service
	sessions  *scs.SessionManager
	oidc      *sso.Client
	keys      *secret.Keyring
	// stateKeys and tokenKeys are derived from keys for one purpose each.
	stateKeys, tokenKeys *secret.Keyring
	now                  func() time.Time
	// heavy holds a slot for each audit verification or export running
	// in this instance (heavy.go).
	heavy chan struct{}
	// sessionUsers are hints for reading a session with its person.
	sessionUsers sessionUsers
	// ready says whether this instance may serve (/readyz).
	ready func(context.Context) (map[string]any, error)
}

// OperationalPaths are the routes probes and scrapers use; deployment files
// may name only these (deploy tests).
var OperationalPaths = []string{"/healthz", "/readyz", "/metrics"}

// New builds the server and registers every route.
func New(d Deps) (*Server, error) {
	a, err := loadAssets(static.FS)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: d.App.Config, log: d.App.Log, reg: d.App.Metrics, metrics: webMetrics{m: d.App.Metrics, routes: map[string]bool{}},
		version: d.Version, assets: a, policies: map[string]models.Permission{},
		now: d.App.Now, keys: d.App.Keys, heavy: make(chan struct{}, maxHeavy),
		people: d.App.Identity, trail: d.App.Audit, creds: d.App.Departments, rotations: d.App.Rotation, devices: d.App.Devices,
		gateway: d.App.Gateway, approvals: d.App.Approvals, notify: d.App.Notify, ready: d.App.Ready, reqs: d.App.Requests,
		sessions: d.App.Web.Sessions, oidc: d.App.Web.SSO, stateKeys: d.App.Web.StateKeys, tokenKeys: d.App.Web.TokenKeys,
	}
	if s.cfg.MetricsAddr == "" && !metricsOnMainListener(s.cfg.Addr, "") {
		s.log.Warn("metrics are not served: the main listener is not loopback; set UWSPORTAL_METRICS_ADDR to scrape them")
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.IPExtractor = ipExtractor(s.cfg)
	e.Use(requestIDs)
	e.Use(s.accessLog)
	e.Use(middleware.RecoverWithConfig(s.recoverConfig()))
	e.Use(s.securityHeaders)
	e.Use(noStore)
	// The gateway bounds bodies itself and answers in ThingSpace's shape.
	e.Use(notForGateway(middleware.BodyLimit("1M")))
	// The gateway (/api/) is a door of its own: no browser session, no
	// principal, no CSRF token; only its own tokens (gateway.go).
	e.Use(notForGateway(s.sessionLoad))
	e.Use(notForGateway(s.loadPrincipal))
	e.Use(notForGateway(s.csrfProtect))
	s.echo = e
	s.routes()
	// Pages only, gzipped by klauspost's gzhttp at BestSpeed: a third of
	// the standard library's CPU for about the same size (60 KB of text to
	// 25.6 KB against 26.0 KB). The gateway passes ThingSpace's answers on uncompressed,
	// as a reverse proxy does by default: gzip cost a third of its own CPU
	// per call (BENCHMARKS.md).
	gz, err := gzhttp.NewWrapper(gzhttp.MinSize(1024), gzhttp.CompressionLevel(gzip.BestSpeed))
	if err != nil {
		return nil, err
	}
	pages := gz(e)
	s.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isGateway(r.URL.Path) {
			e.ServeHTTP(w, r)
			return
		}
		pages.ServeHTTP(w, r)
	})
	return s, nil
}

// Handler is the http.Handler to serve.
func (s *Server) Handler() http.Handler { return s.handler }

// MetricsHandler serves Prometheus metrics, for a separate listener.
func (s *Server) MetricsHandler() http.Handler {
	// Handler compresses responses; promhttp must not compress them again.
	return promhttp.HandlerFor(s.reg.Registry, promhttp.HandlerOpts{DisableCompression: true})
}

// route registers a handler together with the permission it needs; no route
// exists without one.
func (s *Server) route(method, path string, perm models.Permission, h echo.HandlerFunc) {
	s.policies[method+" "+path] = perm
	s.metrics.routes[path] = true
	s.echo.Add(method, path, h, s.authorize(perm))
}

// Policy returns the permission a registered route needs.
func (s *Server) Policy(method, path string) (models.Permission, bool) {
	p, ok := s.policies[method+" "+path]
	return p, ok
}

// Routes lists every registered route as "METHOD path", sorted.
func (s *Server) Routes() []string {
	var out []string
	for _, r := range s.echo.Routes() {
		out = append(out, r.Method+" "+r.Path)
	}
	sort.Strings(out)
	return out
}

func (s *Server) routes() {
	s.route(http.MethodGet, "/static/*", models.PermPublic, s.assets.serve)
	s.route(http.MethodGet, "/healthz", models.PermPublic, s.healthz)
	s.route(http.MethodGet, "/readyz", models.PermPublic, s.readyz)
	if s.reg != nil && metricsOnMainListener(s.cfg.Addr, s.cfg.MetricsAddr) {
		s.route(http.MethodGet, "/metrics", models.PermPublic, echo.WrapHandler(s.MetricsHandler()))
	}
	s.route(http.MethodGet, "/", models.PermSignedIn, s.dashboard)

	// Static audit routes before /audit/:id (Echo prefers them anyway).
	s.route(http.MethodGet, auditListPath, models.PermViewAudit, s.auditList)
	// Verification and export work hard and write to the trail: the GET
	// shows a form, the POST does the work.
	s.route(http.MethodGet, "/audit/verify", models.PermVerifyAudit, s.auditVerifyForm)
	s.route(http.MethodPost, "/audit/verify", models.PermVerifyAudit, s.auditVerify)
	s.route(http.MethodGet, "/audit/export.csv", models.PermExportAudit, s.auditExportForm(auditlog.ExportCSV))
	s.route(http.MethodGet, "/audit/export.ndjson", models.PermExportAudit, s.auditExportForm(auditlog.ExportNDJSON))
	s.route(http.MethodPost, "/audit/export.csv", models.PermExportAudit, s.auditExport(auditlog.ExportCSV))
	s.route(http.MethodPost, "/audit/export.ndjson", models.PermExportAudit, s.auditExport(auditlog.ExportNDJSON))
	s.route(http.MethodGet, "/audit/:id", models.PermViewAudit, s.auditEvent)

	s.route(http.MethodGet, "/auth/login", models.PermPublic, s.oidcLogin)
	s.route(http.MethodGet, "/auth/callback", models.PermPublic, s.oidcCallback)
	s.route(http.MethodPost, "/auth/logout", models.PermPublic, s.logout)
	s.route(http.MethodGet, signedOutPath, models.PermPublic, s.signedOut)
	s.route(http.MethodGet, "/login/local", models.PermPublic, s.localLoginForm)
	s.route(http.MethodPost, "/login/local", models.PermPublic, s.localLogin)

	s.route(http.MethodGet, "/departments", models.PermViewDepartment, s.departments)
	s.route(http.MethodPost, "/departments", models.PermManageDepartments, s.departmentCreate)
	s.route(http.MethodGet, "/departments/:slug", models.PermViewDepartment, s.department)
	s.route(http.MethodPost, "/departments/:slug/credential", models.PermManageDepartments, s.credentialSet)
	s.route(http.MethodPost, "/departments/:slug/settings", models.PermManageDepartments, s.departmentSettings)
	s.route(http.MethodPost, "/departments/:slug/test-login", models.PermTestLogin, s.testLogin)
	s.route(http.MethodGet, "/departments/:slug/rotate", models.PermRotate, s.rotateConfirm)
	s.route(http.MethodPost, "/departments/:slug/rotate", models.PermRotate, s.rotate)
	s.route(http.MethodGet, "/departments/:slug/rotations/:id", models.PermRotate, s.rotationProgress)
	s.route(http.MethodPost, "/departments/:slug/schedule", models.PermSetSchedule, s.schedule)
	s.route(http.MethodGet, "/departments/:slug/reveal", models.PermReveal, s.revealForm)
	s.route(http.MethodPost, "/departments/:slug/reveal", models.PermReveal, s.reveal)
	s.route(http.MethodPost, "/departments/:slug/clear-quarantine", models.PermClearQuarantine, s.clearQuarantine)
	s.route(http.MethodPost, "/departments/:slug/device-policy", models.PermManageDepartments, s.devicePolicy)
	// Devices: the page, and per action a confirmation (GET, nothing sent)
	// and the action itself (POST); the device policy decides who may.
	s.route(http.MethodGet, devicesListPath, models.PermUseDevices, s.devicesList)
	for _, op := range models.Actions {
		s.route(http.MethodGet, "/departments/:slug/devices/"+string(op), models.PermUseDevices, s.deviceConfirm(op))
		s.route(http.MethodPost, "/departments/:slug/devices/"+string(op), models.PermUseDevices, s.deviceAct(op))
	}

	s.approvalRoutes()
	s.apiClientRoutes()
	s.gatewayRoutes()
	s.notifyRoutes()
	s.requestRoutes()

	s.route(http.MethodGet, "/admin/users", models.PermViewUsers, s.users)
	s.route(http.MethodPost, "/admin/users/:id/disable", models.PermManageUsers, s.userDisable)
	s.route(http.MethodPost, "/admin/users/:id/enable", models.PermManageUsers, s.userEnable)
	s.route(http.MethodGet, "/admin/mappings", models.PermMapGroups, s.mappings)
	s.route(http.MethodPost, "/admin/mappings", models.PermMapGroups, s.mappingCreate)
	s.route(http.MethodPost, "/admin/mappings/:id/delete", models.PermMapGroups, s.mappingDelete)
}

// approvalRoutes are dual control: asking needs the action's own
// permission (the device policy decides deactivate), deciding
// approval.decide; the pages filter what each person sees.
func (s *Server) approvalRoutes() {
	s.route(http.MethodPost, "/departments/:slug/reveal/request", models.PermReveal, s.approvalRequest(models.ApproveReveal))
	s.route(http.MethodPost, "/departments/:slug/rotate/request", models.PermRotate, s.approvalRequest(models.ApproveRotate))
	s.route(http.MethodPost, "/departments/:slug/devices/deactivate/request", models.PermUseDevices, s.approvalRequest(models.ApproveDeactivate))
	s.route(http.MethodGet, "/approvals", models.PermSignedIn, s.approvalsList)
	s.route(http.MethodGet, "/approvals/:id", models.PermSignedIn, s.approvalShow)
	s.route(http.MethodPost, "/approvals/:id/approve", models.PermDecideApprovals, s.approvalDecide(true))
	s.route(http.MethodPost, "/approvals/:id/refuse", models.PermDecideApprovals, s.approvalDecide(false))
}

func ipExtractor(cfg *config.Config) echo.IPExtractor {
	if len(cfg.TrustedProxies) == 0 {
		return echo.ExtractIPDirect()
	}
	var opts []echo.TrustOption
	opts = append(opts, echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false))
	for _, n := range cfg.TrustedProxies {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}
