package web

import (
	"errors"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

// revealRule lets a person see five passwords an hour without delay, then
// backs off: a reveal is the exception, and a burst of them is a signal.
func revealRule(p *models.Principal) store.ThrottleRule {
	return store.ThrottleRule{Bucket: "reveal:" + strconv.FormatInt(p.UserID, 10), Free: 5,
		Base: time.Minute, Max: time.Hour, Window: time.Hour}
}

// revealGuard checks a reveal's reason and takes one reveal from the
// person's allowance, before the service is asked. Bad input changes
// nothing, the allowance included.
func (s *Server) revealGuard(c echo.Context, p *models.Principal) (string, error) {
	reason, err := models.ValidReason(c.FormValue("reason"))
	if err != nil {
		return "", err
	}
	if err := s.db.ReserveAttempt(c.Request().Context(), s.now(), revealRule(p)); err != nil {
		var te *store.ErrThrottled
		if errors.As(err, &te) {
			c.Response().Header().Set("Retry-After", strconv.Itoa(int(te.Wait.Seconds())+1))
			return "", models.Errorf(models.ErrRateLimited, "You have revealed passwords often in the last hour. Wait %s and try again.", te.Wait.Round(time.Second))
		}
		return "", err
	}
	return reason, nil
}
