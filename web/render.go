package web

import (
	"bytes"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/uwsportal/uwsportal/templates"
)

// render writes a component with a status. It renders into a buffer first,
// so a template error becomes a clean 500 instead of half a page.
func render(c echo.Context, status int, comp templ.Component) error {
	var buf bytes.Buffer
	if err := comp.Render(c.Request().Context(), &buf); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, buf.Bytes())
}

// page builds the layout data every page needs.
func (s *Server) page(c echo.Context, title string) templates.Page {
	p := templates.Page{
		Title:   title,
		Version: s.version,
		CSS:     s.assets.Path("css/app.css"),
		JS:      s.assets.Path("js/app.js"),
		Path:    c.Request().URL.Path,
		CSRF:    csrfToken(c),
	}
	return p
}

// csrfToken is the token the CSRF middleware put on the context, if any.
func csrfToken(c echo.Context) string {
	if t, ok := c.Get("csrf").(string); ok {
		return t
	}
	return ""
}
