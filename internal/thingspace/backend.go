package thingspace

import (
	"context"

	"github.com/uwsportal/uwsportal/internal/secret"
)

// Backend is one wire protocol to the ThingSpace session service. It does no
// caching of sessions and no lockout accounting: use Client for that. Every
// error it returns is an *Error.
type Backend interface {
	// Login opens a session. Each call is one login attempt upstream.
	Login(ctx context.Context, username, password string) (session string, err error)
	// Logout ends a session.
	Logout(ctx context.Context, session string) error
	// ResetPassword asks ThingSpace to replace oldPassword with a password it
	// generates. It never retries once the request may have been delivered.
	ResetPassword(ctx context.Context, session, oldPassword string) ResetResult
	// Call makes an authenticated M2M REST call (path like
	// "/api/m2m/v1/devices/actions/list"), JSON-encoding body (if not nil) and
	// decoding the answer into out (if not nil).
	Call(ctx context.Context, session, method, path string, body, out any) error
}

// ResetOutcome says what a password reset did upstream.
type ResetOutcome int

const (
	// ResetUnknown (the zero value, so that a forgotten assignment is the
	// safe one): the request may have been applied and its answer was lost
	// (timeout, 5xx, connection lost after sending, unreadable 200). The old
	// password may no longer work; try it at most once.
	ResetUnknown ResetOutcome = iota
	// ResetApplied: ThingSpace answered with the new password. Store it
	// durably before doing anything else.
	ResetApplied
	// ResetRejected: definitely not applied (a 4xx, a recognised SOAP fault,
	// or the request never left). The old password still holds.
	ResetRejected
)

func (o ResetOutcome) String() string {
	switch o {
	case ResetApplied:
		return "applied"
	case ResetRejected:
		return "rejected"
	}
	return "unknown"
}

// ResetResult is the outcome of a reset. NewPassword is set only when
// Outcome is ResetApplied; Err is set otherwise.
type ResetResult struct {
	Outcome     ResetOutcome
	NewPassword secret.Secret
	Err         error
}

// resetResultFromError turns a failed reset into its outcome: only answers
// that prove nothing changed count as rejected. A failure the client cannot
// interpret (ClassUnknown: an unreadable 200, a SOAP server fault) is never
// a refusal, whatever its status.
func resetResultFromError(e *Error) ResetResult {
	out := ResetUnknown
	switch {
	case e.notSent:
		out = ResetRejected
	case e.Class == ClassUnknown:
	case e.Status >= 400 && e.Status < 500:
		out = ResetRejected
	case e.Class == ClassSessionExpired, e.Class == ClassWrongOldPassword, e.Class == ClassBadRequest,
		e.Class == ClassInvalidCredentials, e.Class == ClassLocked, e.Class == ClassBearerRejected,
		e.Class == ClassThrottled:
		// a recognised SOAP client fault (sent with HTTP 500), or a gateway
		// refusal, is a definite refusal
		out = ResetRejected
	}
	return ResetResult{Outcome: out, Err: e}
}
