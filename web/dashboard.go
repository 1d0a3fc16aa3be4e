package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/uwsportal/uwsportal/templates"
)

// dashboard shows the credentials the person may see.
func (s *Server) dashboard(c echo.Context) error {
	return render(c, http.StatusOK, templates.Dashboard(s.page(c, "Dashboard"), templates.DashboardView{}))
}
