package web

import (
	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/uwsportal/uwsportal/internal/bufpool"
	"github.com/uwsportal/uwsportal/models"
	"github.com/uwsportal/uwsportal/templates"
)

// render writes a component with a status. It renders into a buffer first,
// so a template error becomes a clean 500 instead of half a page.
func render(c echo.Context, status int, comp templ.Component) error {
	buf := bufpool.Get()
	defer bufpool.Put(buf) // written out before it is given back
	if err := comp.Render(c.Request().Context(), buf); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, buf.Bytes())
}

// renderWhen is render for a page that may be answered only once ready
// returns nil (a list whose audit is committing): the page is rendered
// meanwhile.
func renderWhen(c echo.Context, status int, comp templ.Component, ready func() error) error {
	buf := bufpool.Get()
	defer bufpool.Put(buf)
	err := comp.Render(c.Request().Context(), buf)
	if rerr := ready(); rerr != nil {
		return rerr
	}
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, buf.Bytes())
}

// page builds the layout data every page needs.
func (s *Server) page(c echo.Context, title string) templates.Page {
	return s.pageWith(c, title, func(p *models.Principal) (bool, int) { return s.approvalsNav(c.Request().Context(), p) })
}

// pageWith is page with the approvals link's reading given (the devices
// page reads it while the list is being fetched).
func (s *Server) pageWith(c echo.Context, title string, approvals func(*models.Principal) (bool, int)) templates.Page {
	p := templates.Page{
		Title:   title,
		CSS:     s.assets.Path("css/app.css"),
		JS:      s.assets.Path("js/app.js"),
		Path:    c.Request().URL.Path,
		CSRF:    s.csrfToken(c),
		Flashes: s.popFlashes(c),
	}
	if pr := principal(c); !pr.Anonymous() {
		p.Version = s.version // only for the signed in: it helps nobody else
		p.User = &templates.UserView{Name: pr.Name, Roles: pr.RoleNames(), BreakGlass: pr.Local}
		p.Nav = navFor(pr)
		if show, pending := approvals(pr); show {
			p.Nav = append(p.Nav, templates.NavItem{Label: "Approvals", Href: "/approvals", Count: pending})
		}
	}
	return p
}

// navFor lists the sections p may open.
func navFor(p *models.Principal) []templates.NavItem {
	nav := []templates.NavItem{{Label: "Dashboard", Href: "/"}}
	for _, item := range []struct {
		perm  models.Permission
		label string
		href  string
	}{
		{models.PermViewDepartment, "Departments", "/departments"},
		{models.PermViewAudit, "Audit", "/audit"},
		{models.PermViewUsers, "Users", "/admin/users"},
		{models.PermMapGroups, "Mappings", "/admin/mappings"},
		{models.PermManageNotifications, "Notifications", "/admin/notifications"},
	} {
		if p.Can(item.perm, "") {
			nav = append(nav, templates.NavItem{Label: item.label, Href: item.href})
		}
	}
	return nav
}
