// Package models holds the domain vocabulary of uwsportal: roles and
// permissions, the audit event catalogue, and the error kinds every layer
// speaks. It imports no infrastructure.
package models

import (
	"errors"
	"fmt"
	"time"
)

// Error kinds. Each maps to one HTTP status in the web layer's error handler.
var (
	ErrNotFound     = errors.New("not found")
	ErrInvalid      = errors.New("invalid input")
	ErrConflict     = errors.New("conflict")
	ErrForbidden    = errors.New("forbidden")
	ErrUnauthorized = errors.New("not signed in")
	ErrUnavailable  = errors.New("temporarily unavailable")
	ErrRateLimited  = errors.New("too many attempts")
)

// Error carries a message that is safe to show to the person who caused it,
// a kind (one of the Err* values above) and, optionally, the underlying cause
// that only the log sees.
type Error struct {
	Kind    error
	Message string
	Err     error
	// RetryAfter, for ErrRateLimited, is how long to wait (0: unknown).
	RetryAfter time.Duration
	// Field, when the input came from a form, names the field at fault
	// (its form name), so the page can show the message beside it.
	Field string
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Is lets errors.Is(err, models.ErrNotFound) match on the kind.
func (e *Error) Is(target error) bool { return e.Kind == target }

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error of the given kind with a user-safe message.
func Errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Invalidf builds an ErrInvalid about one field of the input, named as the
// form names it.
func Invalidf(field, format string, args ...any) error {
	return &Error{Kind: ErrInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// FieldOf names the field an error is about, or "" when it names none.
func FieldOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// SafeMessage returns the message to show a user for err, and whether the
// error is a domain error at all. Non-domain errors must be shown as
// "Internal error." with the detail going to the log only.
func SafeMessage(err error) (string, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Message, true
	}
	return "", false
}
