package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/uwsportal/uwsportal/api"
	"github.com/uwsportal/uwsportal/internal/gateway"
	"github.com/uwsportal/uwsportal/internal/requests"
	"github.com/uwsportal/uwsportal/models"
)

// gatewayPrefix is where the gateway's paths (ThingSpace's own) live.
const gatewayPrefix = "/api/"

// gatewayRoutes registers ThingSpace's paths, and every other path under
// /api/ so that it gets ThingSpace's "no matching resource" rather than a
// page. The gateway authenticates its callers itself.
func (s *Server) gatewayRoutes() {
	s.route(http.MethodGet, openAPIPath, models.PermPublic, s.openAPI)
	for _, mp := range gateway.Paths() {
		s.route(mp[0], mp[1], models.PermGateway, s.gatewayServe)
	}
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodHead, http.MethodOptions} {
		s.route(m, gatewayPrefix+"*", models.PermGateway, s.gatewayServe)
	}
}

// openAPIPath serves the gateway's OpenAPI description (api/openapi.json).
const openAPIPath = gatewayPrefix + "openapi.json"

func (s *Server) openAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/json", api.OpenAPI)
}

func (s *Server) gatewayServe(c echo.Context) error {
	s.gateway.Serve(c.Response(), c.Request(), meta(c))
	return nil
}

// notForGateway skips a browser middleware (session, principal, CSRF) on
// the gateway's paths and ThingSpace's callback listener: a session cookie
// means nothing there.
func notForGateway(mw echo.MiddlewareFunc) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		withMW := mw(next)
		return func(c echo.Context) error {
			if isGateway(c.Request().URL.Path) {
				return next(c)
			}
			return withMW(c)
		}
	}
}

func isGateway(path string) bool {
	return strings.HasPrefix(path, gatewayPrefix) || path == strings.TrimSuffix(gatewayPrefix, "/") || path == requests.ListenerPath
}
