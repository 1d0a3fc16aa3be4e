package web

import (
	"context"
	"encoding/gob"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/uwsportal/uwsportal/internal/approvals"
	"github.com/uwsportal/uwsportal/models"
	"github.com/uwsportal/uwsportal/templates"
)

// approvalsList shows the requests the person may decide and their own.
func (s *Server) approvalsList(c echo.Context) error {
	p := principal(c)
	lists, err := s.approvals.List(c.Request().Context(), p)
	if err != nil {
		return err
	}
	v := templates.ApprovalsView{CanDecide: p.Can(models.PermDecideApprovals, "")}
	for _, a := range lists.ToDecide {
		v.ToDecide = append(v.ToDecide, s.approvalRow(a))
	}
	for _, a := range lists.Mine {
		v.Mine = append(v.Mine, s.approvalRow(a))
	}
	for _, a := range lists.Decided {
		r := s.approvalRow(a)
		r.Decider, r.Decided, r.Note = a.DeciderName, day(a.DecidedAt), a.Note
		v.Decided = append(v.Decided, r)
	}
	return render(c, http.StatusOK, templates.Approvals(s.page(c, "Approvals"), v))
}

// approvalShow is one request: its details, and Approve / Refuse for
// those who may decide it.
func (s *Server) approvalShow(c echo.Context) error {
	id, err := approvalParam(c)
	if err != nil {
		return err
	}
	v, err := s.approvalView(c, id)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, templates.Approval(s.page(c, "Request #"+strconv.FormatInt(id, 10)), v))
}

func (s *Server) approvalView(c echo.Context, id int64) (templates.ApprovalView, error) {
	p := principal(c)
	a, err := s.approvals.Get(c.Request().Context(), p, id)
	if err != nil {
		return templates.ApprovalView{}, err
	}
	row := s.approvalRow(a)
	if a.Requester != p.Actor {
		row.Next, row.NextHref = "", "" // the next step is the requester's
	}
	return templates.ApprovalView{ApprovalRow: row, DepartmentName: a.DepartmentName, Decider: a.DeciderName, DecidedAt: day(a.DecidedAt),
		Note: a.Note, CanDecide: approvals.CanDecide(p, a) && a.StateAt(s.now()) == models.ApprovalPending}, nil
}

// approvalDecide approves or refuses a request.
func (s *Server) approvalDecide(approve bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := approvalParam(c)
		if err != nil {
			return err
		}
		a, err := s.approvals.Decide(c.Request().Context(), principal(c), meta(c), id, approve, c.FormValue("note"))
		if errs, ok := formProblem(err, "note"); ok && errors.Is(err, models.ErrInvalid) {
			v, verr := s.approvalView(c, id)
			if verr != nil {
				return verr
			}
			v.NoteTyped, v.Errors = models.Clip(c.FormValue("note"), 600), errs
			return render(c, formStatus, templates.Approval(s.page(c, "Request #"+strconv.FormatInt(id, 10)), v))
		}
		if f, ok := formError(err); ok { // decided meanwhile: the page shows by whom
			s.flash(c, f.Kind, f.Message)
			return c.Redirect(http.StatusSeeOther, "/approvals/"+strconv.FormatInt(id, 10))
		}
		if err != nil {
			return err
		}
		msg := "Request #" + strconv.FormatInt(id, 10) + " refused."
		if approve {
			msg = "Request #" + strconv.FormatInt(id, 10) + " approved: " + a.RequesterName + " may go ahead once, until " + day(&a.ExpiresAt) + "."
		}
		s.flash(c, "success", msg)
		return c.Redirect(http.StatusSeeOther, "/approvals/"+strconv.FormatInt(id, 10))
	}
}

// approvalRequest asks for a second person's approval of action in the
// department; the route's permission is the action's own.
func (s *Server) approvalRequest(action models.ApprovalAction) echo.HandlerFunc {
	return func(c echo.Context) error {
		slug := c.Param("slug")
		ask := approvals.Ask{Department: slug, Action: action, Reason: c.FormValue("reason")}
		if action == models.ApproveDeactivate {
			if err := s.devices.Authorize(c.Request().Context(), principal(c), meta(c), slug, models.OpDeactivate); err != nil {
				return err
			}
			ids, err := deviceIDs(c)
			if err != nil {
				return err
			}
			ask.Devices = ids
		}
		a, err := s.approvals.Request(c.Request().Context(), principal(c), meta(c), ask)
		if errs, ok := formProblem(err, "reason"); ok {
			// Back to the action's page, where the request form shows the
			// mistake beside the reason, as typed (once).
			s.sessions.Put(c.Request().Context(), keyApprovalAsk,
				approvalAsk{Action: string(action), Reason: models.Clip(ask.Reason, 500), Errors: errs})
			return c.Redirect(http.StatusSeeOther, actionHref(slug, action, ask.Devices))
		}
		if err != nil {
			return err
		}
		s.flash(c, "success", "Request #"+strconv.FormatInt(a.ID, 10)+" sent: an admin or a lead of "+slug+" other than you must approve it.")
		return c.Redirect(http.StatusSeeOther, "/approvals/"+strconv.FormatInt(a.ID, 10))
	}
}

// keyApprovalAsk holds, for one page view, a request for approval that
// was refused for a mistake: what was typed and why.
const keyApprovalAsk = "approval-ask"

type approvalAsk struct {
	Action, Reason string
	Errors         templates.FieldErrors
}

func init() { gob.Register(approvalAsk{}) }

func approvalParam(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, models.Errorf(models.ErrNotFound, "No such request.")
	}
	return id, nil
}

// approvalIDForm is the approval an action's form carries (0: none).
func approvalIDForm(c echo.Context) int64 {
	id, err := strconv.ParseInt(c.FormValue("approval_id"), 10, 64)
	if err != nil || id < 0 {
		return 0
	}
	return id
}

// actionHref is the page where the requester does action.
func actionHref(slug string, action models.ApprovalAction, devices []models.DeviceID) string {
	base := "/departments/" + slug
	switch action {
	case models.ApproveReveal:
		return base + "/reveal"
	case models.ApproveRotate:
		return base + "/rotate"
	}
	q := url.Values{"id": models.DeviceKeys(devices)}
	return base + "/devices/deactivate?" + q.Encode()
}

func (s *Server) approvalRow(a models.Approval) templates.ApprovalRow {
	state := a.StateAt(s.now())
	r := templates.ApprovalRow{ID: a.ID, Department: a.Department, Action: string(a.Action), Devices: a.DeviceList(),
		Requester: a.RequesterName, Reason: a.Reason, State: string(state), Requested: day(&a.RequestedAt), Expires: day(&a.ExpiresAt)}
	switch state {
	case models.ApprovalPending:
		r.Next = "waiting for an admin or a lead of " + a.Department
	case models.ApprovalApproved:
		r.Next, r.NextHref = "approved by "+a.DeciderName+": go ahead before "+day(&a.ExpiresAt), actionHref(a.Department, a.Action, a.Devices)
	case models.ApprovalRefused:
		r.Next = "refused by " + a.DeciderName
	case models.ApprovalExpired:
		r.Next, r.NextHref = "expired: ask again if you still need it", actionHref(a.Department, a.Action, a.Devices)
	case models.ApprovalUsed:
		r.Next = "done"
	}
	return r
}

// gate is what an action's page shows about its approval, if its
// department requires one.
func (s *Server) gate(c echo.Context, d models.Department, action models.ApprovalAction, devices []models.DeviceID) (templates.ApprovalGate, error) {
	g := templates.ApprovalGate{Required: d.Approvals.Requires(action), RequestURL: "/departments/" + d.Slug + "/" + string(action) + "/request"}
	if !g.Required {
		return g, nil
	}
	if ask, ok := s.sessions.Pop(c.Request().Context(), keyApprovalAsk).(approvalAsk); ok && ask.Action == string(action) {
		g.Reason, g.Errors = ask.Reason, ask.Errors
	}
	if action == models.ApproveDeactivate {
		g.RequestURL = "/departments/" + d.Slug + "/devices/deactivate/request"
		g.Devices = models.DeviceKeys(devices)
	}
	a, ok, err := s.approvals.Live(c.Request().Context(), principal(c), d.ID, action, devices)
	if err != nil || !ok {
		return g, err
	}
	g.State, g.ID, g.Approver, g.Until = string(a.StateAt(s.now())), a.ID, a.DeciderName, day(&a.ExpiresAt)
	return g, nil
}

// approvalsNav reports whether the navigation links /approvals for p
// (those who decide, and those who have asked), and how many requests of
// others wait for p's decision.
func (s *Server) approvalsNav(ctx context.Context, p *models.Principal) (bool, int) {
	if p.Can(models.PermDecideApprovals, "") {
		n, err := s.approvals.Pending(ctx, p)
		if err != nil {
			s.log.Warn("approvals navigation", "err", err)
		}
		return true, n
	}
	has, err := s.approvals.HasRequests(ctx, p)
	if err != nil {
		s.log.Warn("approvals navigation", "err", err)
	}
	return has, 0
}

// approvalReason prefills an approved reveal's reason with the request's.
func (s *Server) approvalReason(c echo.Context, id int64) string {
	a, err := s.approvals.Get(c.Request().Context(), principal(c), id)
	if err != nil {
		return ""
	}
	return a.Reason
}
