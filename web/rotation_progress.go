package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/uwsportal/uwsportal/models"
	"github.com/uwsportal/uwsportal/templates"
)

// progressRefresh is how often, in seconds, a rotation's page reloads
// itself until the rotation ends.
const progressRefresh = 2

func progressPath(slug string, run int64) string {
	return "/departments/" + slug + "/rotations/" + strconv.FormatInt(run, 10)
}

// rotate starts a rotation (after the confirmation page) and sends the
// person to the page that follows it. A second press while a rotation
// runs starts nothing and leads to the one under way.
func (s *Server) rotate(c echo.Context) error {
	slug := c.Param("slug")
	id, err := s.rotations.StartNow(c.Request().Context(), principal(c), meta(c), slug, approvalIDForm(c))
	if err != nil {
		if errors.Is(err, models.ErrConflict) {
			if run, ok := s.runningRun(c, slug); ok {
				s.flash(c, "info", "A rotation was already under way: nothing more was sent to ThingSpace. Here is its progress.")
				return c.Redirect(http.StatusSeeOther, progressPath(slug, run))
			}
		}
		return s.departmentError(c, err)
	}
	return c.Redirect(http.StatusSeeOther, progressPath(slug, id))
}

// runningRun is the department's rotation under way, if any.
func (s *Server) runningRun(c echo.Context, slug string) (int64, bool) {
	dv, err := s.creds.DepartmentView(c.Request().Context(), principal(c), slug)
	if err != nil {
		return 0, false
	}
	for _, r := range dv.Runs {
		if r.EndedAt == nil {
			return r.ID, true
		}
	}
	return 0, false
}

// rotationProgress follows one rotation from the database: reset sent,
// answer received, verifying, done. It reloads itself until the end.
func (s *Server) rotationProgress(c echo.Context) error {
	slug := c.Param("slug")
	id, err := pathID(c)
	if err != nil {
		return err
	}
	dv, err := s.creds.DepartmentView(c.Request().Context(), principal(c), slug)
	if err != nil {
		return err
	}
	var run *models.RotationRun
	for i := range dv.Runs {
		if dv.Runs[i].ID == id {
			run = &dv.Runs[i]
		}
	}
	if run == nil {
		return models.Errorf(models.ErrNotFound, "There is no recent rotation %d of this department.", id)
	}
	v := progressView(slug, dv.Department.Name, *run, dv.Credential.State)
	pg := s.page(c, "Rotating the password of "+dv.Department.Name)
	if !v.Done {
		pg.Refresh = progressRefresh
	}
	return render(c, http.StatusOK, templates.RotationProgress(pg, v))
}

// progressView places a run on its four steps. The credential's state says
// where a running rotation is: resetting (the reset is sent, no answer yet),
// verifying (the answer and its new password are stored), unknown (the
// answer was lost: the old password is being checked).
func progressView(slug, name string, run models.RotationRun, state models.CredentialState) templates.RotationProgressView {
	v := templates.RotationProgressView{Slug: slug, Name: name, Result: run.Result, Message: run.Detail, Code: run.UpstreamCode,
		Done: run.EndedAt != nil, Started: day(&run.StartedAt)}
	answered := v.Done && run.Result != models.RunRejected && run.Result != models.RunNotRotated
	verifying := !v.Done && state == models.StateVerifying
	steps := []templates.ProgressStep{
		{Label: "Reset sent to ThingSpace", State: "done"},
		{Label: "Answer received, new password stored", State: stepState(answered || verifying, !v.Done && state == models.StateResetting)},
		{Label: "Verifying the new password with a login", State: stepState(answered, verifying)},
		{Label: "Done", State: stepState(v.Done, false)},
	}
	if !v.Done && state == models.StateUnknown {
		steps[1] = templates.ProgressStep{Label: "Answer lost: checking the old password once", State: "current"}
	}
	v.Steps = steps
	return v
}

func stepState(done, current bool) string {
	switch {
	case done:
		return "done"
	case current:
		return "current"
	}
	return "waiting"
}
