package web

import (
	"errors"
	"net/http"

	"github.com/uwsportal/uwsportal/models"
	"github.com/uwsportal/uwsportal/templates"
)

// A person's mistake in a form is answered with the same page again: what
// they typed kept, the message beside the field at fault, status 422. Every
// form handler asks formProblem, so no form falls back to a bare error page.

// formStatus is the status of a form shown again with its errors.
const formStatus = http.StatusUnprocessableEntity

// formProblem reports whether err is a mistake in the input that the form
// should show (a domain error about the input, with a safe message), and
// the errors by field: the one the error names, or fallback when it names
// none. A "not found" counts only when it names a field (a department
// chosen in the form); otherwise the page itself is missing.
func formProblem(err error, fallback string) (templates.FieldErrors, bool) {
	msg, ok := models.SafeMessage(err)
	if !ok {
		return nil, false
	}
	field := models.FieldOf(err)
	switch {
	case errors.Is(err, models.ErrInvalid), errors.Is(err, models.ErrConflict):
	case errors.Is(err, models.ErrNotFound) && field != "":
	default:
		return nil, false
	}
	if field == "" {
		field = fallback
	}
	return templates.FieldErrors{field: msg}, true
}
