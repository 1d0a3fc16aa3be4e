package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/uwsportal/uwsportal/internal/gateway"
	"github.com/uwsportal/uwsportal/models"
	"github.com/uwsportal/uwsportal/templates"
)

func (s *Server) apiClientRoutes() {
	s.route(http.MethodGet, "/departments/:slug/api-clients", models.PermManageAPIClients, s.apiClients)
	s.route(http.MethodPost, "/departments/:slug/api-clients", models.PermManageAPIClients, s.apiClientCreate)
	s.route(http.MethodPost, "/departments/:slug/api-clients/:id/rotate", models.PermManageAPIClients, s.apiClientRotate)
	s.route(http.MethodPost, "/departments/:slug/api-clients/:id/revoke", models.PermManageAPIClients, s.apiClientRevoke)
	s.route(http.MethodPost, "/departments/:slug/api-clients/ceiling", models.PermManageDepartments, s.apiClientCeiling)
}

// apiClients lists a department's API clients, with the create form.
func (s *Server) apiClients(c echo.Context) error {
	slug, ctx, p := c.Param("slug"), c.Request().Context(), principal(c)
	list, err := s.gateway.List(ctx, p, slug)
	if err != nil {
		return err
	}
	ops, err := s.devices.Operations(ctx, p, slug)
	if err != nil {
		return err
	}
	ceil, err := s.gateway.Ceiling(ctx, p, slug)
	if err != nil {
		return err
	}
	v := templates.APIClientsView{Slug: slug, Operations: models.OpNames(ops), CanCeiling: p.Can(models.PermManageDepartments, slug),
		Ceiling: strconv.FormatFloat(ceil.PerSecond, 'f', -1, 64), CeilingDefault: ceil.Default}
	now := s.now()
	for _, cl := range list {
		v.Rows = append(v.Rows, templates.APIClientRow{ID: cl.ID, Name: cl.Name, Owner: cl.Owner(),
			Operations: clientOps(cl), Status: cl.Status(now), Active: cl.Active(now),
			Expires: cl.ExpiresAt.UTC().Format("2006-01-02"), Created: cl.CreatedAt.UTC().Format("2006-01-02"),
			HistoryHref: "/audit?" + url.Values{"department": {slug}, "q": {cl.ID}}.Encode()})
	}
	return render(c, http.StatusOK, templates.APIClients(s.page(c, "API clients of "+slug), v))
}

// clientOps lists a client's operations, marking those the department's
// policy no longer grants its maker's role (refused at the gateway).
func clientOps(cl models.APIClient) string {
	out := make([]string, 0, len(cl.Operations))
	for _, op := range cl.Operations {
		if cl.Allows(op) {
			out = append(out, string(op))
		} else {
			out = append(out, string(op)+" (refused: not in the policy for "+string(cl.Role)+"s now)")
		}
	}
	return strings.Join(out, ", ")
}

// apiClientCreate creates a client and shows its secret once.
func (s *Server) apiClientCreate(c echo.Context) error {
	slug := c.Param("slug")
	if err := c.Request().ParseForm(); err != nil {
		return models.Errorf(models.ErrInvalid, "The form could not be read.")
	}
	var ops []models.Operation
	for _, name := range c.Request().Form["operation"] {
		op, err := models.ParseOperation(name)
		if err != nil {
			return err
		}
		ops = append(ops, op)
	}
	life, err := models.ParseSpan(c.FormValue("expires"))
	if err != nil {
		return err
	}
	in := gateway.CreateInput{Name: c.FormValue("name"), Owner: c.FormValue("owner"), Operations: ops, Lifetime: life}
	made, err := s.gateway.Create(c.Request().Context(), principal(c), meta(c), slug, in)
	if err != nil {
		return err
	}
	return s.showSecret(c, slug, made, "The client was created. Copy the secret now: it is shown only once and the portal keeps only its hash.")
}

// apiClientRotate gives a client a new secret, shown once.
func (s *Server) apiClientRotate(c echo.Context) error {
	slug := c.Param("slug")
	overlap, err := models.ParseSpan(c.FormValue("overlap"))
	if err != nil {
		return err
	}
	made, err := s.gateway.RotateSecret(c.Request().Context(), principal(c), meta(c), slug, c.Param("id"), overlap)
	if err != nil {
		return err
	}
	note := "The secret was replaced; the old one stopped working. Copy the new one now: it is shown only once."
	if made.Client.PrevUntil != nil {
		note = "The secret was replaced; the old one works until " + made.Client.PrevUntil.UTC().Format("2006-01-02 15:04 UTC") + ". Copy the new one now: it is shown only once."
	}
	return s.showSecret(c, slug, made, note)
}

func (s *Server) showSecret(c echo.Context, slug string, made gateway.Created, note string) error {
	v := templates.APIClientSecretView{Slug: slug, ID: made.Client.ID, Name: made.Client.Name, Secret: made.Secret, Note: note}
	return render(c, http.StatusOK, templates.APIClientSecret(s.page(c, "API client "+made.Client.Name), v))
}

// apiClientCeiling sets the department's ceiling on calls per second to
// ThingSpace, all its clients together (admins; empty: the default).
func (s *Server) apiClientCeiling(c echo.Context) error {
	slug := c.Param("slug")
	v := 0.0
	if text := strings.TrimSpace(c.FormValue("per_second")); text != "" {
		var err error
		if v, err = strconv.ParseFloat(text, 64); err != nil {
			return models.Errorf(models.ErrInvalid, "The ceiling is a number of calls per second, such as 10 or 2.5.")
		}
	}
	if err := s.gateway.SetCeiling(c.Request().Context(), principal(c), meta(c), slug, v); err != nil {
		return err
	}
	s.flash(c, "success", "Ceiling saved: it holds from the next call on every instance.")
	return c.Redirect(http.StatusSeeOther, "/departments/"+slug+"/api-clients")
}

// apiClientRevoke revokes a client: its next call is refused.
func (s *Server) apiClientRevoke(c echo.Context) error {
	slug, id := c.Param("slug"), c.Param("id")
	if err := s.gateway.Revoke(c.Request().Context(), principal(c), meta(c), slug, id); err != nil {
		return err
	}
	s.flash(c, "success", "API client "+id+" was revoked.")
	return c.Redirect(http.StatusSeeOther, "/departments/"+slug+"/api-clients")
}
