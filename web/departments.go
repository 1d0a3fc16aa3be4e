package web

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/models"
	"github.com/uwsportal/uwsportal/templates"
)

var statusText = map[string]string{
	models.StatusOK: "OK", models.StatusDueSoon: "Due soon", models.StatusOverdue: "Overdue",
	models.StatusQuarantined: "Quarantined", models.StatusAttention: "Needs attention", models.StatusNone: "No credential",
}

func age(d time.Duration) string {
	days := int(d / (24 * time.Hour))
	switch {
	case d <= 0:
		return "—"
	case days == 0:
		return "today"
	case days == 1:
		return "1 day"
	}
	return fmt.Sprintf("%d days", days)
}

func day(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func nextDue(c models.CredentialStatus) string {
	switch {
	case !c.HasCredential:
		return "—"
	case !c.ScheduleEnabled:
		return "not scheduled"
	case c.NextDue == nil:
		return "—"
	}
	return c.NextDue.UTC().Format("2006-01-02")
}

// departments lists the departments the person may see.
func (s *Server) departments(c echo.Context) error {
	return s.renderDepartments(c, http.StatusOK, templates.DepartmentForm{Protocol: "rest", MaxAgeDays: models.DefaultMaxAgeDays, ScheduleEnabled: true}, nil)
}

func (s *Server) renderDepartments(c echo.Context, status int, form templates.DepartmentForm, flash *templates.Flash) error {
	p := principal(c)
	list, err := s.creds.Credentials(c.Request().Context(), p)
	if err != nil {
		return err
	}
	v := templates.DepartmentsView{CanCreate: p.Can(models.PermManageDepartments, ""), Form: form}
	for _, cs := range list {
		v.Rows = append(v.Rows, templates.DepartmentRow{Slug: cs.Department, Name: cs.DepartmentName, Protocol: string(cs.Protocol),
			Username: cs.Username, Status: cs.Status, StatusText: statusText[cs.Status], Age: age(cs.Age), NextDue: nextDue(cs)})
	}
	pg := s.page(c, "Departments")
	if flash != nil {
		pg.Flashes = append(pg.Flashes, *flash)
	}
	return render(c, status, templates.Departments(pg, v))
}

// formError turns a domain error about input into a flash for a re-shown
// form: bad input changes nothing and says why.
func formError(err error) (*templates.Flash, bool) {
	msg, ok := models.SafeMessage(err)
	if !ok || !(errors.Is(err, models.ErrInvalid) || errors.Is(err, models.ErrConflict)) {
		return nil, false
	}
	return &templates.Flash{Kind: "error", Message: msg}, true
}

// departmentError re-shows the department page with the message of a bad
// input error (nothing changed); any other error goes to the error handler.
func (s *Server) departmentError(c echo.Context, err error) error {
	if f, ok := formError(err); ok {
		return s.renderDepartment(c, statusOf(err), f)
	}
	return err
}

// department shows one department with its credential and history.
func (s *Server) department(c echo.Context) error {
	return s.renderDepartment(c, http.StatusOK, nil)
}

func (s *Server) renderDepartment(c echo.Context, status int, flash *templates.Flash, edits ...func(*templates.DepartmentPage)) error {
	p := principal(c)
	slug := c.Param("slug")
	dv, err := s.creds.DepartmentView(c.Request().Context(), p, slug)
	if err != nil {
		return err
	}
	cs, d := dv.Credential, dv.Department
	v := templates.DepartmentPage{
		Slug: d.Slug, Name: d.Name, Protocol: string(d.Protocol), HasCredential: cs.HasCredential, Username: cs.Username,
		State: string(cs.State), Status: cs.Status, StatusText: statusText[cs.Status], Version: cs.Version, Age: age(cs.Age),
		NextDue: nextDue(cs), LastRotated: day(cs.LastRotatedAt), LastVerified: day(cs.LastVerifiedAt), LastResult: orDash(cs.LastResult),
		Code: cs.LastUpstreamCode, Failures: cs.ConsecutiveFailures, ScheduleEnabled: d.ScheduleEnabled, MaxAgeDays: d.MaxAgeDays,
		RevealAllowed: d.RevealAllowed, Advice: cs.Advice,
		CanTest: p.Can(models.PermTestLogin, slug), CanRotate: p.Can(models.PermRotate, slug), CanSchedule: p.Can(models.PermSetSchedule, slug),
		CanReveal: d.RevealAllowed && cs.HasCredential && p.Can(models.PermReveal, slug), CanClear: p.Can(models.PermClearQuarantine, slug),
		CanManage: p.Can(models.PermManageDepartments, slug),
		Settings: templates.DepartmentForm{Slug: d.Slug, Name: d.Name, Protocol: string(d.Protocol), MaxAgeDays: d.MaxAgeDays,
			ScheduleEnabled: d.ScheduleEnabled, RevealAllowed: d.RevealAllowed, AccountName: d.AccountName,
			ApproveReveal: d.Approvals.Reveal, ApproveDeactivate: d.Approvals.Deactivate, ApproveRotate: d.Approvals.Rotate},
	}
	v.Credential = templates.CredentialForm{Username: cs.Username, Verify: true}
	if v.CanManage && cs.Username != "" {
		// The credential form carries the failures mark of its username
		// as of now: a count reset stated with it covers the failures
		// recorded since the page was opened (for a new username, unknown
		// until typed, it covers those from the verification on).
		mark, err := s.creds.FailuresMark(c.Request().Context(), p, slug, cs.Username)
		if err != nil {
			return err
		}
		v.Credential.MarkUser, v.Credential.Mark = cs.Username, strconv.FormatInt(mark, 10)
	}
	v.Schedule = templates.ScheduleForm{Enabled: d.ScheduleEnabled, MaxAgeDays: strconv.Itoa(d.MaxAgeDays)}
	for _, edit := range edits {
		edit(&v)
	}
	if err := s.devicePanel(c, &v); err != nil {
		return err
	}
	if v.CanSchedule {
		if v.ScheduleGate, err = s.gate(c, d, models.ApproveRotate, nil); err != nil {
			return err
		}
	}
	if v.CanManage && d.AccountName != "" {
		if v.Callback, err = s.callbackView(c, false); err != nil {
			return err
		}
	}
	for _, r := range dv.Runs {
		started := r.StartedAt
		v.Runs = append(v.Runs, templates.RunRow{Started: day(&started), Ended: day(r.EndedAt),
			Actor: orDash(r.ActorName), Trigger: string(r.Trigger), Result: r.Result, Code: r.UpstreamCode})
	}
	pg := s.page(c, d.Name)
	if flash != nil {
		pg.Flashes = append(pg.Flashes, *flash)
	}
	return render(c, status, templates.Department(pg, v))
}

// devicePanel fills the devices link and, for admins, the policy form.
func (s *Server) devicePanel(c echo.Context, v *templates.DepartmentPage) error {
	ctx, p := c.Request().Context(), principal(c)
	ops, err := s.devices.Operations(ctx, p, v.Slug)
	if err != nil {
		return err
	}
	v.CanDevices = p.Can(models.PermUseDevices, v.Slug) && slices.Contains(ops, models.OpList)
	v.CanAPIClients = p.Can(models.PermManageAPIClients, v.Slug)
	if !v.CanManage {
		return nil
	}
	policy, err := s.devices.Policy(ctx, p, v.Slug)
	if err != nil {
		return err
	}
	for _, role := range models.PolicyRoles {
		for _, op := range models.Operations {
			v.Policy = append(v.Policy, templates.PolicyCell{Role: string(role), Operation: string(op), Allowed: policy.Allows(role, op)})
		}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// back redirects to the department page with a flash.
func (s *Server) back(c echo.Context, kind, msg string) error {
	s.flash(c, kind, msg)
	return c.Redirect(http.StatusSeeOther, "/departments/"+c.Param("slug"))
}

// testLogin makes one login and logout with the credential.
func (s *Server) testLogin(c echo.Context) error {
	res, err := s.creds.TestLogin(c.Request().Context(), principal(c), meta(c), c.Param("slug"))
	if err != nil {
		return s.departmentError(c, err)
	}
	if res.OK {
		return s.back(c, "success", "Test login worked: ThingSpace accepted the credential.")
	}
	return s.back(c, "error", "Test login failed: "+res.Message)
}

// clearQuarantine lets automatic use resume after an admin fixed things.
func (s *Server) clearQuarantine(c echo.Context) error {
	if err := s.creds.ClearQuarantine(c.Request().Context(), principal(c), meta(c), c.Param("slug")); err != nil {
		return s.departmentError(c, err)
	}
	return s.back(c, "success", "Quarantine cleared.")
}

// rotateConfirm explains what a rotation does before it happens.
func (s *Server) rotateConfirm(c echo.Context) error {
	p := principal(c)
	slug := c.Param("slug")
	if !p.Can(models.PermRotate, slug) {
		return models.Errorf(models.ErrForbidden, "You may not rotate this department's password.")
	}
	dv, err := s.creds.DepartmentView(c.Request().Context(), p, slug)
	if err != nil {
		return err
	}
	if !dv.Credential.HasCredential {
		return models.Errorf(models.ErrInvalid, "This department has no credential to rotate yet.")
	}
	g, err := s.gate(c, dv.Department, models.ApproveRotate, nil)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, templates.RotateConfirm(s.page(c, "Rotate "+dv.Department.Name), templates.RotateConfirmView{
		Slug: slug, Name: dv.Department.Name, Username: dv.Credential.Username, Protocol: string(dv.Department.Protocol), Gate: g,
	}))
}

// revealForm asks for the reason of a reveal.
func (s *Server) revealForm(c echo.Context) error {
	p := principal(c)
	slug := c.Param("slug")
	if !p.Can(models.PermReveal, slug) {
		return models.Errorf(models.ErrForbidden, "You may not reveal this department's password.")
	}
	dv, err := s.creds.DepartmentView(c.Request().Context(), p, slug)
	if err != nil {
		return err
	}
	if !dv.Department.RevealAllowed {
		// Not a bare 403: say where reveal is turned on, and by whom; the
		// refusal is audited as the error handler audits any other.
		perm, _ := s.Policy(c.Request().Method, c.Path())
		s.people.Denied(c.Request().Context(), p, meta(c), c.Request().Method, c.Request().URL.Path, string(perm))
		v := templates.RevealOffView{Slug: slug, Name: dv.Department.Name, CanAllow: p.Can(models.PermManageDepartments, slug)}
		return render(c, http.StatusForbidden, templates.RevealOff(s.page(c, "Reveal is off"), v))
	}
	g, err := s.gate(c, dv.Department, models.ApproveReveal, nil)
	if err != nil {
		return err
	}
	v := templates.RevealView{Slug: slug, Name: dv.Department.Name, Username: dv.Credential.Username, Gate: g}
	if g.State == string(models.ApprovalApproved) {
		v.Reason = s.approvalReason(c, g.ID)
	}
	return render(c, http.StatusOK, templates.Reveal(s.page(c, "Reveal"), v))
}

// reveal shows the password once, audited with the reason.
func (s *Server) reveal(c echo.Context) error {
	ctx := c.Request().Context()
	p := principal(c)
	slug := c.Param("slug")
	reason, err := s.revealGuard(c, p)
	var pw secret.Secret
	if err == nil {
		pw, err = s.creds.Reveal(ctx, p, meta(c), slug, reason, approvalIDForm(c))
	}
	if err != nil {
		if errs, ok := formProblem(err, "reason"); ok {
			dv, derr := s.creds.DepartmentView(ctx, p, slug)
			if derr != nil {
				return derr
			}
			g, gerr := s.gate(c, dv.Department, models.ApproveReveal, nil)
			if gerr != nil {
				return gerr
			}
			return render(c, formStatus, templates.Reveal(s.page(c, "Reveal"), templates.RevealView{Slug: slug, Name: dv.Department.Name, Gate: g,
				Reason: models.Clip(c.FormValue("reason"), 500), Errors: errs}))
		}
		return err
	}
	dv, err := s.creds.DepartmentView(ctx, p, slug)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, templates.Reveal(s.page(c, "Reveal"), templates.RevealView{
		Slug: slug, Name: dv.Department.Name, Username: dv.Credential.Username, Password: pw.Reveal(),
	}))
}
