package templates

import (
	"sort"

	"github.com/a-h/templ"
)

// FieldErrors are a re-shown form's messages, by field name; nil or empty:
// the form is fresh or was accepted.
type FieldErrors map[string]string

// Of is the message for one field ("" when it has none).
func (e FieldErrors) Of(name string) string { return e[name] }

// Any says whether the form has an error at all.
func (e FieldErrors) Any() bool { return len(e) > 0 }

// Attrs marks a field's input as invalid and points it at its message, so
// a screen reader reads the message with the field.
func (e FieldErrors) Attrs(name string) templ.Attributes {
	if e[name] == "" {
		return templ.Attributes{}
	}
	return templ.Attributes{"aria-invalid": "true", "aria-describedby": fieldErrorID(name)}
}

func fieldErrorID(name string) string { return "error-" + name }

// names are the fields with an error, in a stable order.
func (e FieldErrors) names() []string {
	out := make([]string, 0, len(e))
	for k := range e {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
