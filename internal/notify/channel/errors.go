package channel

import (
	"errors"
	"slices"
	"strings"
)

// permanentError marks a failure that a retry cannot fix: the destination
// refused the message (HTTP 4xx other than 408 and 429, SMTP 5xx) or the
// destination itself is invalid.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as one that retrying will not fix, so the outbox stops
// retrying and shows the error. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil || IsPermanent(err) {
		return err
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err (or an error it wraps) was marked with
// Permanent. Every other error from Send is worth retrying later: network
// errors, timeouts, HTTP 5xx, 408 and 429, SMTP 4xx.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// scrubbedError is an error whose text had a secret replaced; it keeps the
// permanence of the original but nothing else, so no caller can unwrap its
// way back to the secret.
type scrubbedError struct{ msg string }

func (e *scrubbedError) Error() string { return e.msg }

// scrub is the last line of defence before an error leaves Send: when its
// text holds any of the secrets (a destination URL, its path, a password)
// the text is rewritten with "[redacted]" in their place and the chain is
// cut. Secrets shorter than 4 bytes are not searched for (they would
// redact ordinary words); the errors are built without secrets in the
// first place, so this only catches what a library adds.
func scrub(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := scrubText(err.Error(), secrets...)
	if msg == err.Error() {
		return err
	}
	out := error(&scrubbedError{msg: msg})
	if IsPermanent(err) {
		out = Permanent(out)
	}
	return out
}

// scrubText replaces each secret (of 4 bytes or more) in s with
// "[redacted]", longest first so a whole URL goes before its path.
func scrubText(s string, secrets ...string) string {
	secrets = slices.Clone(secrets)
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	for _, secret := range secrets {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}
