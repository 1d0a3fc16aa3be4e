package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/uwsportal/uwsportal/internal/notify"
	"github.com/uwsportal/uwsportal/models"
	"github.com/uwsportal/uwsportal/templates"
)

func (s *Server) notifyRoutes() {
	s.route(http.MethodGet, "/admin/notifications", models.PermManageNotifications, s.notifications)
	s.route(http.MethodPost, "/admin/notifications", models.PermManageNotifications, s.notificationAdd)
	s.route(http.MethodPost, "/admin/notifications/:id/test", models.PermManageNotifications, s.notificationTest)
	s.route(http.MethodPost, "/admin/notifications/:id/delete", models.PermManageNotifications, s.notificationRemove)
	s.route(http.MethodPost, "/admin/notifications/networks", models.PermManageNotifications, s.networkAllow)
	s.route(http.MethodPost, "/admin/notifications/networks/:id/delete", models.PermManageNotifications, s.networkRemove)
}

// notifications lists the channels, with the form to add one.
func (s *Server) notifications(c echo.Context) error {
	return s.renderNotifications(c, http.StatusOK, templates.ChannelForm{Kind: string(models.ChannelSlack)}, nil, "")
}

func (s *Server) renderNotifications(c echo.Context, status int, form templates.ChannelForm, flash *templates.Flash, signing string) error {
	ctx := c.Request().Context()
	list, err := s.notify.List(ctx, principal(c))
	if err != nil {
		return err
	}
	depts, err := s.creds.Departments(ctx, principal(c))
	if err != nil {
		return err
	}
	backlog, err := s.notify.Backlog(ctx)
	if err != nil {
		return err
	}
	v := templates.NotificationsView{Form: form, SigningSecret: signing, MailEnabled: s.notify.MailEnabled,
		Pending: backlog.Pending, Failed: backlog.Failed}
	for _, k := range models.ChannelKinds {
		v.Kinds = append(v.Kinds, string(k))
	}
	for _, e := range models.NotifyEvents {
		v.Events = append(v.Events, string(e))
	}
	for _, d := range depts {
		v.Departments = append(v.Departments, templates.Option{Value: d.Slug, Label: d.Name + " (" + d.Slug + ")"})
	}
	for _, ch := range list {
		v.Channels = append(v.Channels, channelRow(ch))
	}
	nets, err := s.notify.Networks(ctx, principal(c))
	if err != nil {
		return err
	}
	for _, n := range nets {
		v.Networks = append(v.Networks, templates.NetworkRow{ID: n.ID, Name: n.Name, Network: n.Network, AddedBy: n.AddedBy,
			Added: n.AddedAt.UTC().Format("2006-01-02")})
	}
	pg := s.page(c, "Notifications")
	if flash != nil {
		pg.Flashes = append(pg.Flashes, *flash)
	}
	return render(c, status, templates.Notifications(pg, v))
}

func channelRow(ch notify.Channel) templates.ChannelRow {
	r := templates.ChannelRow{ID: ch.ID, Kind: string(ch.Kind), Target: ch.Target, Department: orText(ch.Department, "all departments"),
		Events: ch.EventList(), Failing: ch.Failing(), Failures: ch.ConsecutiveFailures, LastError: ch.LastError, LastSent: "never"}
	if ch.LastSuccessAt != nil {
		r.LastSent = ch.LastSuccessAt.UTC().Format("2006-01-02 15:04 MST")
	}
	return r
}

func (s *Server) notificationAdd(c echo.Context) error {
	if err := c.Request().ParseForm(); err != nil {
		return models.Errorf(models.ErrInvalid, "The form could not be read.")
	}
	f := c.Request().PostForm
	in := notify.AddInput{Kind: f.Get("kind"), Target: f.Get("target"), Department: f.Get("department"),
		Events: strings.Join(f["events"], ",")}
	made, err := s.notify.Add(c.Request().Context(), principal(c), meta(c), in)
	if err != nil {
		if errs, ok := formProblem(err, "target"); ok {
			// The target is not echoed back: a Slack or Teams URL is a secret.
			form := templates.ChannelForm{Kind: models.Clip(in.Kind, 16), Department: models.Clip(in.Department, 64), Events: f["events"], Errors: errs}
			return s.renderNotifications(c, formStatus, form, nil, "")
		}
		return err
	}
	flash := &templates.Flash{Kind: "success", Message: "Channel added."}
	return s.renderNotifications(c, http.StatusOK, templates.ChannelForm{Kind: in.Kind}, flash, made.SigningSecret)
}

func (s *Server) notificationTest(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := s.notify.Test(c.Request().Context(), principal(c), meta(c), id); err != nil {
		if msg, ok := models.SafeMessage(err); ok && errors.Is(err, models.ErrUnavailable) {
			s.flash(c, "error", msg)
			return c.Redirect(http.StatusSeeOther, "/admin/notifications")
		}
		return err
	}
	s.flash(c, "success", "The channel accepted the test message.")
	return c.Redirect(http.StatusSeeOther, "/admin/notifications")
}

func (s *Server) notificationRemove(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := s.notify.Remove(c.Request().Context(), principal(c), meta(c), id); err != nil {
		return err
	}
	s.flash(c, "success", "Channel removed, with its pending messages.")
	return c.Redirect(http.StatusSeeOther, "/admin/notifications")
}

// networkAllow lets targets reach a named private network.
func (s *Server) networkAllow(c echo.Context) error {
	err := s.notify.AllowNetwork(c.Request().Context(), principal(c), meta(c), c.FormValue("name"), c.FormValue("network"))
	if err != nil {
		if errs, ok := formProblem(err, "network"); ok {
			form := templates.ChannelForm{Kind: string(models.ChannelSlack), NetworkErrors: errs,
				NetworkName: models.Clip(c.FormValue("name"), 100), Network: models.Clip(c.FormValue("network"), 50)}
			return s.renderNotifications(c, formStatus, form, nil, "")
		}
		return err
	}
	s.flash(c, "success", "Network allowed: channels may reach it from the next connection.")
	return c.Redirect(http.StatusSeeOther, "/admin/notifications#networks")
}

// networkRemove takes an allowed network back.
func (s *Server) networkRemove(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := s.notify.RemoveNetwork(c.Request().Context(), principal(c), meta(c), id); err != nil {
		return err
	}
	s.flash(c, "success", "Network removed: channels there are refused from the next connection.")
	return c.Redirect(http.StatusSeeOther, "/admin/notifications#networks")
}
