package secret

import (
	"fmt"
	"io"
	"log/slog"
)

// Redacted is what a Secret shows everywhere except Reveal.
const Redacted = "[redacted]"

// Secret is a string that redacts itself in fmt, log/slog, JSON and text
// encodings, so a password or token cannot reach a log line, error string,
// audit detail or page by accident. Call Reveal at the one place that really
// needs the value (the upstream request body, the audited reveal page).
//
// Two holes remain because Secret is a string underneath: fmt cannot call
// methods on unexported struct fields, so such a field printed with %v is
// shown in clear (keep Secret fields exported, or give the struct its own
// String method); and encoding/json writes string-kinded map keys verbatim
// (never key a map by a Secret).
type Secret string

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer.
func (Secret) String() string { return Redacted }

// GoString implements fmt.GoStringer (%#v).
func (Secret) GoString() string { return Redacted }

// Format implements fmt.Formatter so that every verb, including %s, %q, %x
// and %d (which would otherwise format the underlying string's bytes),
// prints the redaction.
func (Secret) Format(f fmt.State, _ rune) { io.WriteString(f, Redacted) }

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON implements json.Marshaler.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler (used by encoding/xml and
// many config and flag encoders).
func (Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }
