package web

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/uwsportal/uwsportal/models"
)

// auditListPath is the audit page's route.
const auditListPath = "/audit"

// prefetch starts, beside the session's read, the first read of the
// route's page where it does not depend on who asks: the devices page's
// department (devices.Service.Prefetch), and the audit page's search for
// a session whose person read the whole trail at their last request here
// (auditlog.Service.Prefetch). Either is used only once the person, read
// with the session, is allowed the page.
func (s *Server) prefetch(ctx context.Context, c echo.Context, h sessionHint) context.Context {
	if c.Request().Method != http.MethodGet {
		return ctx
	}
	switch c.Path() {
	case devicesListPath:
		return s.devices.Prefetch(ctx, c.Param("slug"))
	case auditListPath:
		if !h.wholeTrail {
			return ctx
		}
		f, err := models.ParseAuditFilter(c.QueryParams(), s.auditZone(), s.now())
		if err != nil {
			return ctx // the page shows the mistake; nothing to search
		}
		return s.trail.Prefetch(ctx, f)
	}
	return ctx
}
