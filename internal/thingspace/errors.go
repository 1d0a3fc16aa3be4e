// Package thingspace is the portal's client for the ThingSpace UWS session API
// (REST and legacy SOAP). Its first duty is to never lock an account: every
// login passes a LockoutGuard, sessions are reused and re-created only when
// the platform says they expired. Its second duty is to never lose a password:
// a reset reports whether it was applied, rejected or has an unknown outcome.
package thingspace

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Class is the small closed set of failure kinds callers act on.
type Class int

const (
	// ClassUnknown is a failure the client cannot interpret; for a reset it
	// means the change may have been applied.
	ClassUnknown Class = iota
	// ClassInvalidCredentials is a refused login; upstream counts it toward
	// the 5-failure lockout.
	ClassInvalidCredentials
	// ClassLocked means the account is locked (or disabled) upstream; only
	// Verizon support can unlock it.
	ClassLocked
	// ClassSessionExpired means the VZ-M2M session token is expired or
	// invalid: drop it, log in once, retry once.
	ClassSessionExpired
	// ClassBearerRejected means the API gateway refused the OAuth bearer token
	// (any HTTP 401 on an M2M endpoint, whatever its body: WSO2
	// 900901/900902/900904, empty, HTML, OAuth "invalid_token") or the token
	// endpoint refused the app key. The login service never saw the request.
	ClassBearerRejected
	// ClassWrongOldPassword means a reset was refused because the old
	// password did not match; nothing changed.
	ClassWrongOldPassword
	// ClassBadRequest is any other definite refusal (4xx, SOAP client fault).
	ClassBadRequest
	// ClassTransient is a network failure, timeout, 5xx or throttling.
	ClassTransient
	// ClassGuardRefused means the LockoutGuard refused a login attempt; no
	// request was sent.
	ClassGuardRefused
	// ClassUnsupported means the backend cannot perform the operation (an
	// M2M call over SOAP).
	ClassUnsupported
	// ClassThrottled means the API gateway refused the request for its rate
	// limit (HTTP 429, WSO2 faults 900800-900809) before the service saw it.
	// Error.RetryAfter says how long to wait, when the answer said.
	ClassThrottled
)

var classNames = [...]string{
	ClassUnknown:            "unknown",
	ClassInvalidCredentials: "invalid credentials",
	ClassLocked:             "account locked",
	ClassSessionExpired:     "session expired",
	ClassBearerRejected:     "bearer token rejected",
	ClassWrongOldPassword:   "wrong old password",
	ClassBadRequest:         "bad request",
	ClassTransient:          "transient",
	ClassGuardRefused:       "refused by lockout guard",
	ClassUnsupported:        "unsupported",
	ClassThrottled:          "throttled",
}

func (c Class) String() string {
	if c >= 0 && int(c) < len(classNames) {
		return classNames[c]
	}
	return "class(" + strconv.Itoa(int(c)) + ")"
}

// ErrGuardRefused is returned (wrapped) by a LockoutGuard that refuses a
// login. ClassOf maps it to ClassGuardRefused.
var ErrGuardRefused = errors.New("login refused by lockout guard")

// ErrUnsupported is returned (wrapped) by a backend that cannot perform an
// operation. ClassOf maps it to ClassUnsupported.
var ErrUnsupported = errors.New("operation not supported by this backend")

// Error is a classified upstream failure. Its fields and its Error string
// never hold a password or token: Body and Code are redacted and truncated.
type Error struct {
	Class  Class
	Op     string // "login", "logout", "reset", "oauth2 token", "call POST /path"
	Code   string // upstream code, service prefix stripped, e.g. REQUEST_FAILED.SessionToken.Expired or "900901"
	Status int    // HTTP status; 0 when no response arrived
	Body   string // redacted, at most maxBody bytes
	Err    error  // underlying network error, if any

	// RetryAfter is the wait the answer asked for (a Retry-After header, in
	// seconds or as an HTTP date), 0 when it named none.
	RetryAfter time.Duration

	// notSent is true when the request certainly did not reach the server
	// (refused dial, DNS failure, bearer fetch failed): nothing can have
	// changed and no login attempt was spent.
	notSent bool
}

// NotSent is a failure that certainly happened before anything left for
// ThingSpace: a login that fails so never counts.
func NotSent(op string, err error) *Error {
	return &Error{Class: ClassUnknown, Op: op, Err: err, notSent: true}
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("thingspace")
	if e.Op != "" {
		b.WriteString(" " + e.Op)
	}
	b.WriteString(": " + e.Class.String())
	var details []string
	if e.Code != "" {
		details = append(details, "code "+e.Code)
	}
	if e.Status != 0 {
		details = append(details, "HTTP "+strconv.Itoa(e.Status))
	}
	if e.RetryAfter > 0 {
		details = append(details, "retry after "+e.RetryAfter.String())
	}
	if len(details) > 0 {
		b.WriteString(" (" + strings.Join(details, ", ") + ")")
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ClassOf returns the class of err: that of the first *Error in its chain,
// ClassGuardRefused or ClassUnsupported for the sentinels, ClassTransient for
// context deadline errors, and ClassUnknown otherwise (including nil).
func ClassOf(err error) Class {
	if err == nil {
		return ClassUnknown
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Class
	}
	switch {
	case errors.Is(err, ErrGuardRefused):
		return ClassGuardRefused
	case errors.Is(err, ErrUnsupported):
		return ClassUnsupported
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return ClassTransient
	}
	return ClassUnknown
}

// CodeOf returns the upstream code of err, or "".
func CodeOf(err error) string {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return ""
}
