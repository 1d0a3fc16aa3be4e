package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/uwsportal/uwsportal/internal/devices"
	"github.com/uwsportal/uwsportal/internal/requests"
	"github.com/uwsportal/uwsportal/models"
	"github.com/uwsportal/uwsportal/templates"
)

// devicesList is a department's devices, read through its credential.
func (s *Server) devicesList(c echo.Context) error {
	return s.devicesPage(c, http.StatusOK, nil)
}

// devicesListPath is the devices page's route.
const devicesListPath = "/departments/:slug/devices"

// devicesPage is the devices page, amended (a mistake to show) before it
// is rendered with status.
func (s *Server) devicesPage(c echo.Context, status int, amend func(*templates.DevicesView)) error {
	slug := c.Param("slug")
	at, err := parsePlace(c)
	if err != nil {
		return err
	}
	q := devices.Query{Q: models.Clip(c.QueryParam("q"), 64), State: models.Clip(c.QueryParam("state"), 20), After: at.After}
	side := s.devicesSideReads(c.Request().Context(), principal(c), slug)
	// The page is prepared while the list's audit commits; it is answered
	// only once the audit is durable (audited).
	page, audited, err := s.devices.ListPage(c.Request().Context(), principal(c), meta(c), slug, q)
	v := templates.DevicesView{Slug: slug, Q: q.Q, State: q.State, States: stateOptions(), SelectAll: c.QueryParam("select") == "all"}
	if err != nil {
		return s.devicesRefused(c, v, err)
	}
	v.Name, v.Account = page.Department.Name, page.Department.AccountName
	for _, op := range page.Operations {
		if op != models.OpList {
			v.Actions = append(v.Actions, string(op))
		}
	}
	v.Rows = make([]templates.DeviceRow, 0, len(page.Devices))
	for _, d := range page.Devices {
		key := d.Primary()
		v.Rows = append(v.Rows, templates.DeviceRow{Key: key.Kind + ":" + key.ID, MDN: d.ID("mdn"), ICCID: d.ID("iccid"), IMEI: d.ID("imei"),
			State: devices.StateName(d.State), StateCode: d.State, Plan: d.ServicePlan, LastActivation: dateOf(d.LastActivation), LastConnection: dateOf(d.LastConnection), Connected: d.Connected,
			HistoryHref:  "/audit?department=" + url.QueryEscape(slug) + "&q=" + url.QueryEscape(key.ID),
			RequestsHref: "/departments/" + slug + "/requests?device=" + url.QueryEscape(key.Kind+":"+key.ID)})
	}
	pagingView(&v, q, at, page)
	v.SelectHref = selectHref(c, !v.SelectAll)
	r := <-side
	pg := s.pageWith(c, "Devices of "+page.Department.Name, func(*models.Principal) (bool, int) { return r.approvals, r.pending })
	if r.err != nil {
		return errors.Join(r.err, audited())
	}
	s.recentRequests(&v, &pg, r.requests)
	if amend != nil {
		amend(&v)
	}
	return renderWhen(c, status, templates.Devices(pg, v), audited)
}

// sideReads are the devices page's reads that need only the person and
// the department: its recent requests and the approvals link.
type sideReads struct {
	requests  []models.DeviceRequest
	err       error
	approvals bool
	pending   int
}

// devicesSideReads makes them while the list is fetched from ThingSpace,
// off the page's critical path. They only read; the channel holds the
// answer, so a page that fails first leaves nothing waiting.
func (s *Server) devicesSideReads(ctx context.Context, p *models.Principal, slug string) <-chan sideReads {
	out := make(chan sideReads, 1)
	go func() {
		var r sideReads
		r.requests, r.err = s.reqs.List(ctx, p, slug, requests.Query{Limit: 20})
		r.approvals, r.pending = s.approvalsNav(ctx, p)
		out <- r
	}()
	return out
}

// devicesRefused shows the devices page with why the list could not be
// read: a search a person mistyped beside its field (422), ThingSpace's
// refusal above the list; the heading still names the department.
func (s *Server) devicesRefused(c echo.Context, v templates.DevicesView, err error) error {
	msg, ok := models.SafeMessage(err)
	if !ok || errors.Is(err, models.ErrForbidden) || errors.Is(err, models.ErrNotFound) || errors.Is(err, models.ErrUnauthorized) {
		return err
	}
	status := statusOf(err)
	if fe, ok := formProblem(err, "q"); ok {
		v.Errors, status = fe, formStatus
	} else {
		v.Error = msg
	}
	v.Name = v.Slug
	if d, derr := s.creds.DepartmentView(c.Request().Context(), principal(c), v.Slug); derr == nil {
		v.Name, v.Account = d.Department.Name, d.Department.AccountName
	}
	return render(c, status, templates.Devices(s.page(c, "Devices of "+v.Name), v))
}

// stateOptions are the states a search may ask for, in words.
func stateOptions() []templates.Option {
	out := make([]templates.Option, 0, len(devices.States))
	for _, st := range devices.States {
		out = append(out, templates.Option{Value: st, Label: devices.StateName(st)})
	}
	return out
}

// selectHref is this page again with every box ticked (all) or none.
func selectHref(c echo.Context, all bool) string {
	q := c.QueryParams()
	q.Del("select")
	if all {
		q.Set("select", "all")
	}
	return devicesHref(c.Param("slug"), q)
}

// picked are the boxes ticked on the devices page, to tick them again.
func picked(c echo.Context) map[string]bool {
	out := map[string]bool{}
	for _, k := range c.QueryParams()["id"] {
		out[k] = true
	}
	return out
}

// deviceIDs reads the devices of a request: checked boxes ("kind:id") and
// a pasted list.
func deviceIDs(c echo.Context) ([]models.DeviceID, error) {
	var raw []string
	if err := c.Request().ParseForm(); err != nil {
		return nil, models.Errorf(models.ErrInvalid, "The form could not be read.")
	}
	for _, v := range c.Request().Form["id"] {
		if _, id, ok := strings.Cut(v, ":"); ok {
			v = id
		}
		raw = append(raw, v)
	}
	raw = append(raw, c.Request().Form.Get("ids"))
	return models.ParseDeviceList(strings.Join(raw, "\n"))
}

// deviceConfirm shows what an action will do and asks for what it needs;
// nothing is sent upstream.
func (s *Server) deviceConfirm(op models.Operation) echo.HandlerFunc {
	return func(c echo.Context) error {
		slug := c.Param("slug")
		if err := s.devices.Authorize(c.Request().Context(), principal(c), meta(c), slug, op); err != nil {
			return err
		}
		ids, err := deviceIDs(c)
		if errs, ok := formProblem(err, "ids"); ok {
			return s.devicesPage(c, formStatus, func(v *templates.DevicesView) {
				v.Errors, v.Pasted, v.Picked = errs, models.Clip(c.QueryParam("ids"), 6000), picked(c)
			})
		}
		if err != nil {
			return err
		}
		v, err := s.confirmView(c, op, ids)
		if err != nil {
			return err
		}
		return render(c, http.StatusOK, templates.DeviceConfirm(s.page(c, "Confirm "+string(op)+" of "+v.Count), v))
	}
}

// confirmView is the confirmation of op on ids.
func (s *Server) confirmView(c echo.Context, op models.Operation, ids []models.DeviceID) (templates.DeviceConfirmView, error) {
	slug := c.Param("slug")
	d, err := s.creds.DepartmentView(c.Request().Context(), principal(c), slug)
	if err != nil {
		return templates.DeviceConfirmView{}, err
	}
	v := templates.DeviceConfirmView{Slug: slug, Name: d.Department.Name, Account: d.Department.AccountName, Op: string(op),
		NeedsPlan: op == models.OpActivate || op == models.OpPlan, NeedsZIP: op == models.OpActivate, Deactivate: op == models.OpDeactivate, Reason: "FF"}
	if op == models.OpDeactivate {
		if v.Gate, err = s.gate(c, d.Department, models.ApproveDeactivate, ids); err != nil {
			return v, err
		}
	}
	for _, id := range ids {
		v.Devices = append(v.Devices, templates.NamedDevice{Key: id.Kind + ":" + id.ID, Name: deviceName(id)})
	}
	v.Count = plural(len(ids), "device")
	return v, nil
}

// deviceAct does a confirmed action and shows each device's result; a
// mistake in the confirmation shows it again, beside its field (422).
func (s *Server) deviceAct(op models.Operation) echo.HandlerFunc {
	return func(c echo.Context) error {
		slug := c.Param("slug")
		if err := s.devices.Authorize(c.Request().Context(), principal(c), meta(c), slug, op); err != nil {
			return err
		}
		ids, err := deviceIDs(c)
		if err != nil {
			return err
		}
		a := devices.Action{Op: op, Devices: ids, ServicePlan: c.FormValue("service_plan"), ZIP: c.FormValue("zip"),
			ReasonCode: c.FormValue("reason_code"), ETFWaiver: c.FormValue("etf_waiver") == "on", Confirm: c.FormValue("confirm"),
			Approval: approvalIDForm(c)}
		results, err := s.devices.Act(c.Request().Context(), principal(c), meta(c), slug, a)
		if errs, ok := formProblem(err, "confirm"); ok && len(ids) > 0 {
			v, verr := s.confirmView(c, op, ids)
			if verr != nil {
				return verr
			}
			v.Errors, v.Plan, v.ZIP, v.Reason, v.Typed, v.ETF = errs, models.Clip(a.ServicePlan, 64), models.Clip(a.ZIP, 5),
				models.Clip(a.ReasonCode, 16), models.Clip(a.Confirm, 24), a.ETFWaiver
			return render(c, formStatus, templates.DeviceConfirm(s.page(c, "Confirm "+string(op)+" of "+v.Count), v))
		}
		if err != nil {
			return err
		}
		return s.deviceResults(c, op, results)
	}
}

// deviceResults shows what an action did to each device, then follows
// the requests to their end.
func (s *Server) deviceResults(c echo.Context, op models.Operation, results []devices.DeviceResult) error {
	slug := c.Param("slug")
	v := templates.DeviceResultsView{Slug: slug, Name: slug, Op: string(op)}
	var reqIDs []int64
	for _, r := range results {
		reqIDs = append(reqIDs, r.Request)
		row := templates.DeviceResultRow{Device: deviceName(r.Device), Outcome: r.Outcome, RequestID: r.RequestID, Message: r.Message}
		switch {
		case r.Now != nil:
			row.StateNow = devices.StateName(r.Now.State)
		case r.Outcome == devices.Accepted:
			row.StateNow = queued(op)
		case r.Outcome == devices.Refused:
			row.StateNow = "Unchanged"
		default:
			row.StateNow = "Unknown: look at the device"
		}
		v.Rows = append(v.Rows, row)
	}
	pg := s.page(c, string(op)+" results")
	if v.Follow = followURL(slug, reqIDs); v.Follow != "" {
		pg.Refresh, pg.RefreshURL = 3, v.Follow
	}
	return render(c, http.StatusOK, templates.DeviceResults(pg, v))
}

// devicePolicy saves a department's device policy (admin).
func (s *Server) devicePolicy(c echo.Context) error {
	if err := c.Request().ParseForm(); err != nil {
		return models.Errorf(models.ErrInvalid, "The form could not be read.")
	}
	policy, err := devices.ParsePolicy(c.Request().Form["allow"])
	if err == nil {
		err = s.devices.SetPolicy(c.Request().Context(), principal(c), meta(c), c.Param("slug"), policy)
	}
	if err != nil {
		return s.departmentError(c, err)
	}
	return s.back(c, "success", "Device policy saved.")
}

// dateOf keeps the day of an ISO 8601 time as ThingSpace sends it.
func dateOf(iso string) string {
	if len(iso) >= 10 && iso[4] == '-' && iso[7] == '-' {
		return iso[:10]
	}
	return orDash(iso)
}
