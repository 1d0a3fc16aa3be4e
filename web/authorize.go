package web

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/uwsportal/uwsportal/models"
)

// authorize enforces a route's permission: deny by default.
func (s *Server) authorize(perm models.Permission) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if perm == models.PermPublic || perm == models.PermGateway || perm == models.PermCallback {
				// The gateway and the callback listener authenticate their own callers.
				return next(c)
			}
			p := principal(c)
			if p.Anonymous() {
				// A page sends the browser to sign in and back; anything
				// else gets a plain 401.
				if c.Request().Method == http.MethodGet && !wantsJSON(c) {
					return c.Redirect(http.StatusSeeOther, "/auth/login?next="+url.QueryEscape(safeNext(c.Request().URL.RequestURI())))
				}
				return models.ErrUnauthorized
			}
			if !p.Can(perm, "") {
				return models.Errorf(models.ErrForbidden, "You do not have permission to do that.")
			}
			return next(c)
		}
	}
}

// principal is the signed-in person of this request, or nil.
func principal(c echo.Context) *models.Principal {
	p, _ := c.Get("principal").(*models.Principal)
	return p
}
