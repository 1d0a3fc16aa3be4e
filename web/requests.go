package web

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/uwsportal/uwsportal/internal/requests"
	"github.com/uwsportal/uwsportal/models"
	"github.com/uwsportal/uwsportal/templates"
)

// requestRoutes are the device requests pages, the callback listener
// (ThingSpace's own door) and its registration.
func (s *Server) requestRoutes() {
	s.route(http.MethodGet, "/departments/:slug/requests", models.PermUseDevices, s.requestsList)
	s.route(http.MethodGet, "/departments/:slug/callbacks", models.PermManageDepartments, s.callbacksPage)
	s.route(http.MethodPost, "/departments/:slug/callbacks", models.PermManageDepartments, s.callbackRegister)
	s.route(http.MethodPost, "/departments/:slug/callbacks/delete", models.PermManageDepartments, s.callbackDeregister)
	s.route(http.MethodPost, requests.ListenerPath, models.PermCallback, s.callbackListen)
}

// maxFollowed bounds the ids one results page follows.
const maxFollowed = models.MaxDevicesPerAction

// requestsList is a department's device requests, one device's history
// (?device=kind:id), or the requests one action made (?ids=1,2,3),
// reloading itself while any of them is still open.
func (s *Server) requestsList(c echo.Context) error {
	slug := c.Param("slug")
	q := requests.Query{Device: strings.TrimSpace(c.QueryParam("device")), Open: c.QueryParam("open") == "1"}
	for _, f := range strings.Split(c.QueryParam("ids"), ",") {
		if id, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64); err == nil && id > 0 && len(q.IDs) < maxFollowed {
			q.IDs = append(q.IDs, id)
		}
	}
	list, err := s.reqs.List(c.Request().Context(), principal(c), slug, q)
	if err != nil {
		return err
	}
	v := templates.RequestsView{Slug: slug, Following: len(q.IDs) > 0, Device: models.Clip(q.Device, 60), Rows: requestRows(list, s.now())}
	pg := s.page(c, "Device requests")
	if wait := refreshAfter(list, s.now()); wait > 0 {
		v.Refreshing, v.RefreshSeconds = true, wait
		pg.Refresh = wait
	}
	return render(c, http.StatusOK, templates.Requests(pg, v))
}

// refreshAfter is how long a page of requests waits before reloading
// itself: soon while the newest open request is young, less often later,
// never once all ended or the newest is an hour old (the poller carries on).
func refreshAfter(list []models.DeviceRequest, now time.Time) int {
	var newest time.Time
	for _, r := range list {
		if r.Open() && r.SentAt.After(newest) {
			newest = r.SentAt
		}
	}
	switch age := now.Sub(newest); {
	case newest.IsZero() || age > time.Hour:
		return 0
	case age < time.Minute:
		return 2
	case age < 10*time.Minute:
		return 10
	}
	return 60
}

func requestRows(list []models.DeviceRequest, now time.Time) []templates.RequestRow {
	rows := make([]templates.RequestRow, 0, len(list))
	for _, r := range list {
		took := "–"
		if r.EndedAt != nil {
			took = r.Took().Round(time.Second).String()
		} else if r.Open() {
			took = now.Sub(r.SentAt).Round(time.Second).String() + " so far"
		}
		rows = append(rows, templates.RequestRow{ID: strconv.FormatInt(r.ID, 10), RequestID: orDash(r.RequestID), Operation: string(r.Operation),
			Devices: deviceNames(r.Devices), Who: orDash(r.ActorName), Sent: r.SentAt.UTC().Format("2006-01-02 15:04:05"),
			Status: string(r.Status), How: orDash(r.EndedBy), Took: took, Fault: r.Fault, StateNow: stateAfter(r.Operation, r.Status)})
	}
	return rows
}

// deviceNames are a request's devices as people write them.
func deviceNames(ids []models.DeviceID) string {
	names := make([]string, 0, len(ids))
	for _, id := range ids {
		names = append(names, deviceName(id))
	}
	return strings.Join(names, ", ")
}

// stateAfter is a device's state as its request has left it: queued while
// ThingSpace has not said, the state the action leads to once it
// succeeded, unchanged when it failed.
func stateAfter(op models.Operation, st models.RequestStatus) string {
	switch st {
	case models.RequestPending:
		return queued(op)
	case models.RequestFailed:
		return "Unchanged"
	case models.RequestUnknown:
		return "Unknown: look at the device"
	}
	switch op {
	case models.OpSuspend:
		return "Suspended"
	case models.OpRestore, models.OpActivate:
		return "Active"
	case models.OpDeactivate:
		return "Deactivated"
	case models.OpPlan:
		return "Plan changed"
	}
	return "Done"
}

// queued says an action was taken by ThingSpace but not yet done.
func queued(op models.Operation) string {
	name := string(op)
	if op == models.OpPlan {
		name = "plan change"
	}
	return strings.ToUpper(name[:1]) + name[1:] + " queued: not done yet"
}

// recentRequests fills the devices page's requests still open or ended
// in the last minutes; while one is open the page reloads itself, at
// most every 10 s (each reload reads the list from ThingSpace again).
func (s *Server) recentRequests(v *templates.DevicesView, pg *templates.Page, list []models.DeviceRequest) {
	var recent []models.DeviceRequest
	for _, r := range list {
		if r.Open() && s.now().Sub(r.SentAt) < time.Hour || r.EndedAt != nil && s.now().Sub(*r.EndedAt) < 10*time.Minute {
			recent = append(recent, r)
		}
	}
	v.Requests = requestRows(recent, s.now())
	if wait := refreshAfter(recent, s.now()); wait > 0 {
		pg.Refresh = max(wait, 10)
	}
}

// followURL is the page that follows the requests of an action's results.
func followURL(slug string, ids []int64) string {
	var parts []string
	for _, id := range ids {
		if id > 0 {
			parts = append(parts, strconv.FormatInt(id, 10))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "/departments/" + slug + "/requests?ids=" + strings.Join(parts, ",")
}

// callbackListen is ThingSpace's door: no session, no CSRF token, no
// gateway token; the username and password ThingSpace echoes decide. The
// answer is 2xx only once the outcome is recorded.
func (s *Server) callbackListen(c echo.Context) error {
	r := c.Request()
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), r.Body, requests.MaxCallbackBody+1))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		body = make([]byte, requests.MaxCallbackBody+1) // Callback refuses and audits it
	} else if err != nil {
		return c.String(http.StatusBadRequest, "The body could not be read.")
	}
	ans := s.reqs.Callback(r.Context(), meta(c), body)
	return c.String(ans.Status, ans.Message)
}

// callbacksPage shows a department's listener, with ThingSpace's own list.
func (s *Server) callbacksPage(c echo.Context) error {
	v, err := s.callbackView(c, true)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, templates.Callbacks(s.page(c, "Callbacks"), *v))
}

func (s *Server) callbackView(c echo.Context, upstream bool) (*templates.CallbackView, error) {
	reg, err := s.reqs.Registration(c.Request().Context(), principal(c), meta(c), c.Param("slug"), upstream)
	if err != nil {
		return nil, err
	}
	v := &templates.CallbackView{Slug: reg.Department, Account: reg.Account, Configured: s.reqs.CallbackURL() != "", URL: reg.URL,
		RegisteredBy: reg.RegisteredBy, UpstreamErr: reg.UpstreamErr, Checked: upstream}
	if reg.RegisteredAt != nil {
		v.RegisteredAt = day(reg.RegisteredAt)
	}
	for _, l := range reg.Upstream {
		v.Upstream = append(v.Upstream, l.ServiceName+" → "+l.URL)
	}
	return v, nil
}

// callbackRegister makes the portal the account's listener (admin).
func (s *Server) callbackRegister(c echo.Context) error {
	if err := s.reqs.Register(c.Request().Context(), principal(c), meta(c), c.Param("slug")); err != nil {
		return s.departmentError(c, err)
	}
	return s.back(c, "success", "The portal is registered as the account's CarrierService listener.")
}

// callbackDeregister removes the portal's listener (admin).
func (s *Server) callbackDeregister(c echo.Context) error {
	if err := s.reqs.Deregister(c.Request().Context(), principal(c), meta(c), c.Param("slug")); err != nil {
		return s.departmentError(c, err)
	}
	return s.back(c, "success", "The listener was removed: outcomes are found by polling.")
}

// personMessage is err's message for a person, or a generic one.
func personMessage(err error) string {
	if msg, ok := models.SafeMessage(err); ok {
		return msg
	}
	return "internal error."
}
