package web

import (
	"crypto/subtle"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/uwsportal/uwsportal/models"
)

// keyCSRF is the session key of the CSRF token: the token lives in the
// server-side session, so a cookie planted by a sibling site proves nothing.
const keyCSRF = "csrf"

// errCrossSite refuses a state-changing request another site started.
var errCrossSite = models.Errorf(models.ErrForbidden, "This request came from another site and was refused. Use the portal's own pages.")

// errCSRF refuses a form whose token does not match the session's.
var errCSRF = models.Errorf(models.ErrForbidden, "This form has expired or did not come from this portal. Go back, reload the page and try again.")

// csrfProtect refuses state-changing requests that another site started:
// by the browser's fetch metadata when it sends any (anything but
// same-origin or a person's own navigation is refused, same-site
// included), and always by a token bound to the server-side session.
func (s *Server) csrfProtect(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
			return next(c)
		}
		if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
			return errCrossSite
		}
		if c.Get(sessionLoaded) == nil {
			return errCSRF // no session, no token to match
		}
		want := s.sessions.GetString(r.Context(), keyCSRF)
		got := r.Header.Get("X-CSRF-Token")
		if got == "" {
			got = c.FormValue("csrf_token")
		}
		if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			return errCSRF
		}
		return next(c)
	}
}

// csrfToken is the session's CSRF token, made on first use by a page.
func (s *Server) csrfToken(c echo.Context) string {
	if c.Get(sessionLoaded) == nil {
		return ""
	}
	ctx := c.Request().Context()
	if t := s.sessions.GetString(ctx, keyCSRF); t != "" {
		return t
	}
	t := randomToken()
	s.sessions.Put(ctx, keyCSRF, t)
	return t
}
