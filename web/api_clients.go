package web

import (
	"net/http"
	"net/url"
	"path"
	"slices"
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
	s.route(http.MethodGet, "/departments/:slug/api-clients/:id/rotate", models.PermManageAPIClients, s.apiClientConfirm)
	s.route(http.MethodPost, "/departments/:slug/api-clients/:id/rotate", models.PermManageAPIClients, s.apiClientRotate)
	s.route(http.MethodGet, "/departments/:slug/api-clients/:id/revoke", models.PermManageAPIClients, s.apiClientConfirm)
	s.route(http.MethodPost, "/departments/:slug/api-clients/:id/revoke", models.PermManageAPIClients, s.apiClientRevoke)
	s.route(http.MethodPost, "/departments/:slug/api-clients/ceiling", models.PermManageDepartments, s.apiClientCeiling)
}

// apiClients lists a department's API clients, with the create form.
func (s *Server) apiClients(c echo.Context) error {
	return s.renderAPIClients(c, http.StatusOK, templates.APIClientForm{Expires: "90d"})
}

func (s *Server) renderAPIClients(c echo.Context, status int, form templates.APIClientForm, edits ...func(*templates.APIClientsView)) error {
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
	name, err := s.departmentName(c, slug)
	if err != nil {
		return err
	}
	v := templates.APIClientsView{Slug: slug, Name: name, Operations: models.OpNames(ops), CanCeiling: p.Can(models.PermManageDepartments, slug),
		Ceiling: strconv.FormatFloat(ceil.PerSecond, 'f', -1, 64), CeilingDefault: ceil.Default, Form: form}
	ids := make([]string, len(list))
	for i, cl := range list {
		ids[i] = cl.ID
	}
	used, err := s.gateway.LastUsed(ctx, p, slug, ids)
	if err != nil {
		return err
	}
	now := s.now()
	for _, cl := range list {
		last := "never"
		if at, ok := used[cl.ID]; ok {
			last = at.UTC().Format("2006-01-02 15:04 UTC")
		}
		v.Rows = append(v.Rows, templates.APIClientRow{ID: cl.ID, Name: cl.Name, Owner: cl.Owner(), LastUsed: last,
			Operations: clientOps(cl), Status: cl.Status(now), Active: cl.Active(now),
			Expires: cl.ExpiresAt.UTC().Format("2006-01-02"), Created: cl.CreatedAt.UTC().Format("2006-01-02"),
			HistoryHref: "/audit?" + url.Values{"department": {slug}, "q": {cl.ID}}.Encode()})
	}
	for _, edit := range edits {
		edit(&v)
	}
	return render(c, status, templates.APIClients(s.page(c, "API clients of "+name), v))
}

// departmentName is the name people know a department by (its slug when
// the person may not list it).
func (s *Server) departmentName(c echo.Context, slug string) (string, error) {
	depts, err := s.creds.Departments(c.Request().Context(), principal(c))
	if err != nil {
		return "", err
	}
	for _, d := range depts {
		if d.Slug == slug {
			return d.Name, nil
		}
	}
	return slug, nil
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

// apiClientCreate creates a client and shows its secret once; a mistake
// shows the form again with what was typed.
func (s *Server) apiClientCreate(c echo.Context) error {
	if err := c.Request().ParseForm(); err != nil {
		return models.Errorf(models.ErrInvalid, "The form could not be read.")
	}
	f := c.Request().PostForm
	form := templates.APIClientForm{Name: models.Clip(f.Get("name"), 100), Owner: models.Clip(f.Get("owner"), 200),
		Operations: f["operation"], Expires: models.Clip(f.Get("expires"), 8)}
	made, err := s.createClient(c, f)
	if err != nil {
		if errs, ok := formProblem(err, "name"); ok {
			form.Errors = errs
			return s.renderAPIClients(c, formStatus, form)
		}
		return err
	}
	return s.showSecret(c, c.Param("slug"), made, "The client was created. Copy the secret now: it is shown only once and the portal keeps only its hash.")
}

func (s *Server) createClient(c echo.Context, f url.Values) (gateway.Created, error) {
	var ops []models.Operation
	for _, name := range f["operation"] {
		op, err := models.ParseOperation(name)
		if err != nil {
			return gateway.Created{}, &models.Error{Kind: models.ErrInvalid, Field: "operation", Message: safeText(err)}
		}
		ops = append(ops, op)
	}
	life, err := models.ParseSpan(f.Get("expires"))
	if err != nil {
		return gateway.Created{}, &models.Error{Kind: models.ErrInvalid, Field: "expires", Message: safeText(err)}
	}
	in := gateway.CreateInput{Name: f.Get("name"), Owner: f.Get("owner"), Operations: ops, Lifetime: life}
	return s.gateway.Create(c.Request().Context(), principal(c), meta(c), c.Param("slug"), in)
}

// safeText is a domain error's safe message ("" for any other error).
func safeText(err error) string {
	msg, _ := models.SafeMessage(err)
	return msg
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

// apiClientConfirm says what rotating a client's secret or revoking it
// does, before it happens: the action is the last part of the path.
func (s *Server) apiClientConfirm(c echo.Context) error {
	slug, id, ctx := c.Param("slug"), c.Param("id"), c.Request().Context()
	list, err := s.gateway.List(ctx, principal(c), slug)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(list, func(cl models.APIClient) bool { return cl.ID == id })
	if i < 0 {
		return models.Errorf(models.ErrNotFound, "There is no API client %s in this department.", models.Clip(id, 40))
	}
	cl := list[i]
	if !cl.Active(s.now()) {
		return models.Errorf(models.ErrConflict, "API client %s is no longer active: nothing to rotate or revoke.", cl.Name)
	}
	action := path.Base(c.Path())
	v := templates.APIClientConfirmView{Slug: slug, ID: cl.ID, Name: cl.Name, Owner: cl.Owner(), Action: action}
	title := "Revoke API client " + cl.Name
	if action == "rotate" {
		title = "Rotate the secret of API client " + cl.Name
	}
	return render(c, http.StatusOK, templates.APIClientConfirm(s.page(c, title), v))
}

func (s *Server) showSecret(c echo.Context, slug string, made gateway.Created, note string) error {
	base := strings.TrimSuffix(s.cfg.BaseURL.String(), "/")
	v := templates.APIClientSecretView{Slug: slug, ID: made.Client.ID, Name: made.Client.Name, Secret: made.Secret, Note: note,
		BaseURL: base, Curl: "curl -s -u '" + made.Client.ID + ":<secret>' -d grant_type=client_credentials " + base + "/api/ts/v1/oauth2/token"}
	return render(c, http.StatusOK, templates.APIClientSecret(s.page(c, "API client "+made.Client.Name), v))
}

// apiClientCeiling sets the department's ceiling on calls per second to
// ThingSpace, all its clients together (admins; empty: the default). A
// mistake shows the page again with the message beside the field.
func (s *Server) apiClientCeiling(c echo.Context) error {
	slug := c.Param("slug")
	text := strings.TrimSpace(c.FormValue("per_second"))
	v, err := 0.0, error(nil)
	if text != "" {
		if v, err = strconv.ParseFloat(text, 64); err != nil {
			err = models.Invalidf("per_second", "The ceiling is a number of calls per second, such as 10 or 2.5.")
		}
	}
	if err == nil {
		err = s.gateway.SetCeiling(c.Request().Context(), principal(c), meta(c), slug, v)
	}
	if err != nil {
		errs, ok := formProblem(err, "per_second")
		if !ok {
			return err
		}
		return s.renderAPIClients(c, formStatus, templates.APIClientForm{Expires: "90d"}, func(v *templates.APIClientsView) {
			v.CeilingTyped, v.CeilingErrors = models.Clip(text, 20), errs
		})
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
	s.flash(c, "success", "API client "+id+" was revoked: its next call is refused.")
	return c.Redirect(http.StatusSeeOther, "/departments/"+slug+"/api-clients")
}
