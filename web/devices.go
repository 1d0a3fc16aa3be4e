package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/uwsportal/uwsportal/internal/devices"
	"github.com/uwsportal/uwsportal/models"
	"github.com/uwsportal/uwsportal/templates"
)

// devicesList is a department's devices, read through its credential.
func (s *Server) devicesList(c echo.Context) error {
	slug := c.Param("slug")
	after, err := strconv.ParseInt(c.QueryParam("after"), 10, 64)
	if c.QueryParam("after") == "" {
		after, err = 0, nil
	}
	if err != nil {
		return models.Errorf(models.ErrInvalid, "The page cursor is not valid.")
	}
	q := devices.Query{Q: models.Clip(c.QueryParam("q"), 64), State: models.Clip(c.QueryParam("state"), 20), After: after}
	// The page is prepared while the list's audit commits; it is answered
	// only once the audit is durable (audited).
	page, audited, err := s.devices.ListPage(c.Request().Context(), principal(c), meta(c), slug, q)
	v := templates.DevicesView{Slug: slug, Q: q.Q, State: q.State, States: devices.States}
	if err != nil {
		msg, ok := models.SafeMessage(err)
		if !ok || errors.Is(err, models.ErrForbidden) || errors.Is(err, models.ErrNotFound) || errors.Is(err, models.ErrUnauthorized) {
			return err
		}
		v.Error = msg
		v.Name = slug
		return render(c, statusOf(err), templates.Devices(s.page(c, "Devices"), v))
	}
	v.Name, v.Account = page.Department.Name, page.Department.AccountName
	for _, op := range page.Operations {
		if op != models.OpList {
			v.Actions = append(v.Actions, string(op))
		}
	}
	for _, d := range page.Devices {
		key := d.Primary()
		v.Rows = append(v.Rows, templates.DeviceRow{Key: key.Kind + ":" + key.ID, MDN: d.ID("mdn"), ICCID: d.ID("iccid"), IMEI: d.ID("imei"),
			State: d.State, Plan: d.ServicePlan, LastActivation: dateOf(d.LastActivation), LastConnection: dateOf(d.LastConnection), Connected: d.Connected,
			HistoryHref:  "/audit?" + url.Values{"department": {slug}, "q": {key.ID}}.Encode(),
			RequestsHref: "/departments/" + slug + "/requests?" + url.Values{"device": {key.Kind + ":" + key.ID}}.Encode()})
	}
	if page.Next > 0 {
		v.NextHref = "/departments/" + slug + "/devices?" + url.Values{"state": {q.State}, "after": {strconv.FormatInt(page.Next, 10)}}.Encode()
	}
	pg := s.page(c, "Devices of "+page.Department.Name)
	if err := s.recentRequests(c, &v, &pg); err != nil {
		return errors.Join(err, audited())
	}
	return renderWhen(c, http.StatusOK, templates.Devices(pg, v), audited)
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
		if err != nil {
			return err
		}
		d, err := s.creds.DepartmentView(c.Request().Context(), principal(c), slug)
		if err != nil {
			return err
		}
		v := templates.DeviceConfirmView{Slug: slug, Name: d.Department.Name, Account: d.Department.AccountName, Op: string(op),
			NeedsPlan: op == models.OpActivate || op == models.OpPlan, NeedsZIP: op == models.OpActivate, Deactivate: op == models.OpDeactivate}
		if op == models.OpDeactivate {
			if v.Gate, err = s.gate(c, d.Department, models.ApproveDeactivate, ids); err != nil {
				return err
			}
		}
		for _, id := range ids {
			v.Devices = append(v.Devices, id.Kind+":"+id.ID)
		}
		return render(c, http.StatusOK, templates.DeviceConfirm(s.page(c, "Confirm "+string(op)), v))
	}
}

// deviceAct does a confirmed action and shows each device's result.
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
		if err != nil {
			return err
		}
		v := templates.DeviceResultsView{Slug: slug, Name: slug, Op: string(op)}
		var reqIDs []int64
		for _, r := range results {
			reqIDs = append(reqIDs, r.Request)
			row := templates.DeviceResultRow{Device: r.Device.Kind + ":" + r.Device.ID, Outcome: r.Outcome, RequestID: r.RequestID, Message: r.Message}
			if r.Now != nil {
				row.StateNow = r.Now.State
			}
			v.Rows = append(v.Rows, row)
		}
		pg := s.page(c, string(op)+" results")
		if v.Follow = followURL(slug, reqIDs); v.Follow != "" {
			pg.Refresh, pg.RefreshURL = 3, v.Follow
		}
		return render(c, http.StatusOK, templates.DeviceResults(pg, v))
	}
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
