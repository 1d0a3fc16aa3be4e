package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/uwsportal/uwsportal/internal/departments"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/models"
	"github.com/uwsportal/uwsportal/templates"
)

// departmentCreate creates a department (admin).
func (s *Server) departmentCreate(c echo.Context) error {
	maxText := strings.TrimSpace(c.FormValue("max_age_days"))
	maxAge, _ := strconv.Atoi(maxText)
	form := templates.DepartmentForm{Slug: models.Clip(c.FormValue("slug"), 63), Name: models.Clip(c.FormValue("name"), 200),
		Protocol: c.FormValue("protocol"), MaxAgeDays: maxAge, MaxAgeText: models.Clip(maxText, 10),
		ScheduleEnabled: c.FormValue("schedule_enabled") == "on", RevealAllowed: c.FormValue("reveal_allowed") == "on",
		AccountName: models.Clip(strings.TrimSpace(c.FormValue("account_name")), 20)}
	d := models.Department{Slug: c.FormValue("slug"), Name: c.FormValue("name"), Protocol: models.Protocol(form.Protocol),
		MaxAgeDays: maxAge, ScheduleEnabled: form.ScheduleEnabled, RevealAllowed: form.RevealAllowed, AccountName: form.AccountName}
	if maxText != "" && maxAge == 0 {
		d.MaxAgeDays = -1 // not a number: let validation say so
	}
	created, err := s.creds.CreateDepartment(c.Request().Context(), principal(c), meta(c), d)
	if err != nil {
		if errs, ok := formProblem(err, "slug"); ok {
			form.Errors = errs
			return s.renderDepartments(c, formStatus, form, nil)
		}
		return err
	}
	s.flash(c, "success", "Department created. Enter its UWS credential next.")
	return c.Redirect(http.StatusSeeOther, "/departments/"+created.Slug)
}

// credentialSet enters or replaces a department's credential (admin). The
// password typed is never shown again, even beside its error.
func (s *Server) credentialSet(c echo.Context) error {
	pw := secret.Secret(c.FormValue("password"))
	in := departments.CredentialInput{Department: c.Param("slug"), Username: c.FormValue("username"), Password: pw,
		Verify: c.FormValue("verify") == "on", CountReset: c.FormValue("count_reset") == "on"}
	// The failures mark the page carried since it was rendered (see
	// renderDepartment): a count reset covers the failures since.
	markUser, markText := c.FormValue("count_reset_user"), c.FormValue("count_reset_mark")
	if mark, err := strconv.ParseInt(markText, 10, 64); err == nil {
		in.CountResetMark = departments.MarkFor(markUser, mark, in.Username)
	}
	if err := s.creds.SetCredential(c.Request().Context(), principal(c), meta(c), in); err != nil {
		errs, ok := formProblem(err, "password")
		if !ok {
			return err
		}
		return s.renderDepartment(c, formStatus, summary(errs), func(v *templates.DepartmentPage) {
			v.Credential = templates.CredentialForm{Username: models.Clip(in.Username, 128), Verify: in.Verify, CountReset: in.CountReset, Errors: errs,
				MarkUser: models.Clip(markUser, 128), Mark: models.Clip(markText, 20)}
		})
	}
	return s.back(c, "success", "Credential saved and encrypted. It will not be shown again unless reveal is allowed.")
}

// departmentSettings saves an admin's edit of the department.
func (s *Server) departmentSettings(c echo.Context) error {
	set := models.DepartmentSettings{Name: c.FormValue("name"), Protocol: models.Protocol(c.FormValue("protocol")),
		RevealAllowed: c.FormValue("reveal_allowed") == "on", AccountName: strings.TrimSpace(c.FormValue("account_name")),
		Approvals: models.ApprovalRules{Reveal: c.FormValue("approve_reveal") == "on", Deactivate: c.FormValue("approve_deactivate") == "on",
			Rotate: c.FormValue("approve_rotate") == "on"}}
	if err := s.creds.UpdateSettings(c.Request().Context(), principal(c), meta(c), c.Param("slug"), set); err != nil {
		errs, ok := formProblem(err, "name")
		if !ok {
			return err
		}
		return s.renderDepartment(c, formStatus, summary(errs), func(v *templates.DepartmentPage) {
			v.Settings.Name, v.Settings.Protocol = models.Clip(set.Name, 200), string(set.Protocol)
			v.Settings.RevealAllowed, v.Settings.AccountName = set.RevealAllowed, models.Clip(set.AccountName, 20)
			v.Settings.ApproveReveal, v.Settings.ApproveDeactivate, v.Settings.ApproveRotate = set.Approvals.Reveal, set.Approvals.Deactivate, set.Approvals.Rotate
			v.Settings.Errors = errs
		})
	}
	if registered, err := s.reqs.Follow(c.Request().Context(), principal(c), meta(c), c.Param("slug")); err != nil {
		return s.back(c, "error", "Settings saved, but registering the callback listener did not work: "+personMessage(err)+" Outcomes are found by polling until it is registered.")
	} else if registered {
		return s.back(c, "success", "Settings saved; the portal is registered as the account's callback listener.")
	}
	return s.back(c, "success", "Settings saved.")
}

// schedule turns scheduled rotation on or off and sets the maximum age.
func (s *Server) schedule(c echo.Context) error {
	// Empty keeps the current maximum age; anything else must be a valid one.
	text := strings.TrimSpace(c.FormValue("max_age_days"))
	maxAge := 0
	if text != "" {
		n, err := strconv.Atoi(text)
		if err != nil || n < 1 {
			n = -1
		}
		maxAge = n
	}
	enabled := c.FormValue("enabled") == "on"
	if err := s.creds.SetScheduleApproved(c.Request().Context(), principal(c), meta(c), c.Param("slug"), enabled, maxAge,
		approvalIDForm(c)); err != nil {
		errs, ok := formProblem(err, "max_age_days")
		if !ok {
			return err
		}
		return s.renderDepartment(c, formStatus, summary(errs), func(v *templates.DepartmentPage) {
			v.Schedule = templates.ScheduleForm{Enabled: enabled, MaxAgeDays: models.Clip(text, 10), Errors: errs}
		})
	}
	return s.back(c, "success", "Schedule saved.")
}

// summary is the flash that heads a page whose form was shown again, for
// the forms of the department page (one of which may be hidden).
func summary(errs templates.FieldErrors) *templates.Flash {
	for _, msg := range errs {
		return &templates.Flash{Kind: "error", Message: "Nothing was saved: " + msg}
	}
	return nil
}
