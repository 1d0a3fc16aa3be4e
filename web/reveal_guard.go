package web

import (
	"errors"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/uwsportal/uwsportal/models"
)

// revealGuard checks a reveal's reason and takes one reveal from the
// person's allowance, before the service is asked. Bad input changes
// nothing, the allowance included.
func (s *Server) revealGuard(c echo.Context, p *models.Principal) (string, error) {
	reason, err := models.ValidReason(c.FormValue("reason"))
	if err != nil {
		msg, _ := models.SafeMessage(err)
		return "", models.Invalidf("reason", "%s", msg)
	}
	if err := s.creds.ReserveReveal(c.Request().Context(), p); err != nil {
		var me *models.Error
		if errors.As(err, &me) && me.RetryAfter > 0 {
			c.Response().Header().Set("Retry-After", strconv.Itoa(int(me.RetryAfter.Seconds())+1))
		}
		return "", err
	}
	return reason, nil
}
