package web

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/uwsportal/uwsportal/models"
	"github.com/uwsportal/uwsportal/templates"
)

// users lists users with their roles and last sign-in.
func (s *Server) users(c echo.Context) error {
	p := principal(c)
	list, err := s.people.Users(c.Request().Context(), p)
	if err != nil {
		return err
	}
	v := templates.UsersView{CanManage: p.Can(models.PermManageUsers, "")}
	for _, u := range list {
		row := templates.UserRow{ID: u.ID, Name: u.Name, Email: u.Email, Disabled: u.Disabled, LastSignIn: "never", Source: "SSO"}
		if u.Issuer == models.IssuerLocal {
			row.Source = "break-glass"
		}
		if u.LastSignIn != nil {
			row.LastSignIn = u.LastSignIn.UTC().Format("2006-01-02 15:04 UTC")
		}
		for _, g := range u.Grants {
			row.Roles = append(row.Roles, g.String())
		}
		v.Users = append(v.Users, row)
	}
	return render(c, http.StatusOK, templates.Users(s.page(c, "Users"), v))
}

func (s *Server) userDisable(c echo.Context) error { return s.setUserDisabled(c, true) }
func (s *Server) userEnable(c echo.Context) error  { return s.setUserDisabled(c, false) }

func (s *Server) setUserDisabled(c echo.Context, disabled bool) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := s.people.SetUserDisabled(c.Request().Context(), principal(c), meta(c), id, disabled); err != nil {
		return err
	}
	if disabled {
		s.flash(c, "success", "User disabled; their sessions have ended.")
	} else {
		s.flash(c, "success", "User enabled.")
	}
	return c.Redirect(http.StatusSeeOther, "/admin/users")
}

// pathID parses the :id path parameter.
func pathID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, models.Errorf(models.ErrNotFound, "No such item.")
	}
	return id, nil
}
