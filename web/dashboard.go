package web

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/uwsportal/uwsportal/models"
	"github.com/uwsportal/uwsportal/templates"
)

// dashboard shows the credentials the person may see.
func (s *Server) dashboard(c echo.Context) error {
	p := principal(c)
	if !p.HasAnyRole() {
		return s.noAccess(c)
	}
	list, err := s.creds.Credentials(c.Request().Context(), p)
	if err != nil {
		return err
	}
	pg := s.page(c, "Dashboard")
	var v templates.DashboardView
	for _, cs := range list {
		v.Cards = append(v.Cards, templates.CredentialCard{Slug: cs.Department, Name: cs.DepartmentName, Username: orText(cs.Username, "No credential yet"),
			Status: cs.Status, StatusText: statusText[cs.Status], Age: age(cs.Age), NextDue: nextDue(cs), LastResult: orDash(cs.LastResult)})
		if (cs.Status == models.StatusQuarantined || cs.Status == models.StatusAttention) && p.Can(models.PermClearQuarantine, cs.Department) {
			pg.Warnings = append(pg.Warnings, cs.DepartmentName+": "+statusText[cs.Status]+". "+cs.Advice)
		}
	}
	if p.Can(models.PermManageNotifications, "") {
		s.notificationWarnings(c, &pg)
	}
	s.requestTroubles(c, &v)
	return render(c, http.StatusOK, templates.Dashboard(pg, v))
}

// notificationWarnings flags, for admins, channels that keep failing. A
// failure to read them is logged: the dashboard still shows.
func (s *Server) notificationWarnings(c echo.Context, pg *templates.Page) {
	failing, err := s.notify.Failing(c.Request().Context())
	if err != nil {
		s.logFailure(c, "failing notification channels", err)
		return
	}
	for _, ch := range failing {
		pg.Warnings = append(pg.Warnings, fmt.Sprintf("Notification channel %d (%s %s) failed %d times in a row: %s. See Notifications.",
			ch.ID, ch.Kind, ch.Target, ch.ConsecutiveFailures, ch.LastError))
	}
}

// noAccess tells a signed-in person without a role whom to ask.
func (s *Server) noAccess(c echo.Context) error {
	ctx := c.Request().Context()
	p := principal(c)
	v := templates.NoAccessView{Name: p.Name}
	if u, err := s.people.Me(ctx, p); err == nil {
		v.Groups = u.Groups
	}
	admins, err := s.people.Admins(ctx)
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

func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// requestTroubles adds each department's failed and long-pending device
// requests to its card. A failure to read them is logged: the dashboard
// still shows.
func (s *Server) requestTroubles(c echo.Context, v *templates.DashboardView) {
	troubles, err := s.reqs.Troubles(c.Request().Context(), principal(c))
	if err != nil {
		s.logFailure(c, "device request troubles", err)
		return
	}
	for _, t := range troubles {
		for i := range v.Cards {
			if v.Cards[i].Slug == t.Department {
				v.Cards[i].RequestsFailed, v.Cards[i].RequestsLongPending = t.Failed+t.UnknownCount, t.LongPending
			}
		}
	}
}
