package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/uwsportal/uwsportal/templates"
)

// dashboard shows the credentials the person may see.
func (s *Server) dashboard(c echo.Context) error {
	p := principal(c)
	if !p.HasAnyRole() {
		return s.noAccess(c)
	}
	return render(c, http.StatusOK, templates.Dashboard(s.page(c, "Dashboard"), templates.DashboardView{}))
}

// noAccess tells a signed-in person without a role whom to ask.
func (s *Server) noAccess(c echo.Context) error {
	ctx := c.Request().Context()
	p := principal(c)
	v := templates.NoAccessView{Name: p.Name}
	if u, err := s.db.User(ctx, p.UserID); err == nil {
		v.Groups = u.Groups
	}
	admins, err := s.svc.Admins(ctx)
	if err != nil {
		return err
	}
	for _, a := range admins {
		name := a.Name
		if a.Email != "" {
			name += " <" + a.Email + ">"
		}
		v.Admins = append(v.Admins, name)
	}
	return render(c, http.StatusOK, templates.NoAccess(s.page(c, "No access yet"), v))
}
