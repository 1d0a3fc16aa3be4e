package web

import (
	"github.com/labstack/echo/v4"

	"github.com/uwsportal/uwsportal/models"
)

// maxHeavy is how many audit verifications and exports one instance runs
// at once; each reads the whole (filtered) trail.
const maxHeavy = 2

// errBusy answers a verification or export when every slot is taken.
var errBusy = models.Errorf(models.ErrUnavailable,
	"Another audit verification or export is running. Try again in a minute.")

// heavySlot takes a slot without waiting, or refuses with 503 and a
// Retry-After; release it when the work is done.
func (s *Server) heavySlot(c echo.Context) (release func(), err error) {
	select {
	case s.heavy <- struct{}{}:
		return func() { <-s.heavy }, nil
	default:
		c.Response().Header().Set("Retry-After", "60")
		return nil, errBusy
	}
}
