package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/uwsportal/uwsportal/models"
	"github.com/uwsportal/uwsportal/templates"
)

// mappings lists the group mappings with the form to add one.
func (s *Server) mappings(c echo.Context) error {
	return s.renderMappings(c, http.StatusOK, templates.MappingRow{Role: string(models.RoleLead)}, nil)
}

// renderMappings shows the mappings and the form: as typed with its errors,
// or fresh, where a lead is offered the first department (a lead needs one).
func (s *Server) renderMappings(c echo.Context, status int, form templates.MappingRow, errs templates.FieldErrors) error {
	ctx := c.Request().Context()
	p := principal(c)
	list, err := s.people.Mappings(ctx, p)
	if err != nil {
		return err
	}
	depts, err := s.creds.Departments(ctx, principal(c))
	if err != nil {
		return err
	}
	if errs == nil && form.Department == "" && len(depts) > 0 && !models.Role(form.Role).Global() {
		form.Department = depts[0].Slug
	}
	v := templates.MappingsView{AdminGroups: s.cfg.AdminGroups, Form: form, Errors: errs}
	for _, r := range models.Roles {
		v.Roles = append(v.Roles, string(r))
	}
	for _, d := range depts {
		v.Departments = append(v.Departments, templates.Option{Value: d.Slug, Label: d.Name + " (" + d.Slug + ")"})
	}
	for _, m := range list {
		v.Mappings = append(v.Mappings, templates.MappingRow{ID: m.ID, Group: m.Group, Role: string(m.Role),
			Department: m.Department, CreatedAt: m.CreatedAt.UTC().Format("2006-01-02")})
	}
	return render(c, status, templates.Mappings(s.page(c, "Group mappings"), v))
}

func (s *Server) mappingCreate(c echo.Context) error {
	m := models.Mapping{Group: c.FormValue("group"), Role: models.Role(c.FormValue("role")), Department: c.FormValue("department")}
	_, err := s.people.CreateMapping(c.Request().Context(), principal(c), meta(c), m)
	if err != nil {
		// Bad input: show the form again with the message; nothing changed.
		if errs, ok := formProblem(err, "group"); ok {
			form := templates.MappingRow{Group: models.Clip(m.Group, 256), Role: string(m.Role), Department: models.Clip(m.Department, 64)}
			return s.renderMappings(c, formStatus, form, errs)
		}
		return err
	}
	s.flash(c, "success", "Mapping added. It applies at each member's next sign-in.")
	return c.Redirect(http.StatusSeeOther, "/admin/mappings")
}

func (s *Server) mappingDelete(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := s.people.DeleteMapping(c.Request().Context(), principal(c), meta(c), id); err != nil {
		return err
	}
	s.flash(c, "success", "Mapping removed. It stops applying at each member's next sign-in.")
	return c.Redirect(http.StatusSeeOther, "/admin/mappings")
}
