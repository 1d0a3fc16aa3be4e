package thingspace

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Operation names, used in Error.Op and to interpret ambiguous codes: a
// "password" code means bad credentials at login but a wrong old password at
// reset.
const (
	opLogin  = "login"
	opLogout = "logout"
	opReset  = "reset"
	opToken  = "oauth2 token"
	opCall   = "call"
)

// stripServicePrefix removes the leading service segments of an M2M code
// ("UnifiedWebService.REQUEST_FAILED.SessionToken.Expired" →
// "REQUEST_FAILED.SessionToken.Expired"): the codes start with an
// UPPER_SNAKE category (REQUEST_FAILED, INPUT_INVALID) after a service name
// that varies between services and may itself be upper case ("UWS").
func stripServicePrefix(code string) string {
	code = strings.TrimSpace(code)
	segs := strings.Split(code, ".")
	for i, s := range segs {
		if isUpperSnake(s) {
			return strings.Join(segs[i:], ".")
		}
	}
	return code
}

func isUpperSnake(s string) bool {
	if !strings.Contains(s, "_") {
		return false
	}
	letter := false
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z':
			letter = true
		case r >= '0' && r <= '9', r == '_':
		default:
			return false
		}
	}
	return letter
}

// classifyM2MCode maps a stripped M2M error code to a class. The exact codes
// are unconfirmed upstream, so it matches tolerant fragments, checked in the
// order that is safest when several match:
//
//   - anything about the session token (".SessionToken.", "Session.Expired")
//     → ClassSessionExpired: the one case where logging in again is right;
//   - "Locked", "Lockout", "Suspended", "Disabled" → ClassLocked: never retry;
//   - at login, "Credential", "Password", "Authentica", "Unauthori", "Login",
//     "User" → ClassInvalidCredentials (counts toward lockout);
//   - at reset, "Password", "Credential" → ClassWrongOldPassword;
//   - anything else → ClassBadRequest.
//
// The simulator answers with UnifiedWebService.INPUT_INVALID.Login.InvalidCredentials,
// UnifiedWebService.REQUEST_FAILED.Login.UserLocked,
// UnifiedWebService.REQUEST_FAILED.SessionToken.Expired and
// UnifiedWebService.INPUT_INVALID.Password.OldPasswordMismatch.
func classifyM2MCode(op, code string) Class {
	c := strings.ToLower(code)
	switch {
	case strings.Contains(c, "sessiontoken"), strings.Contains(c, "session.expired"),
		strings.Contains(c, "session.invalid"), strings.Contains(c, "sessionexpired"):
		return ClassSessionExpired
	case containsAny(c, "locked", "lockout", "suspended", "disabled"):
		return ClassLocked
	}
	switch op {
	case opLogin:
		if containsAny(c, "credential", "password", "authentica", "unauthori", "login", "user") {
			return ClassInvalidCredentials
		}
	case opReset:
		if containsAny(c, "password", "credential") {
			return ClassWrongOldPassword
		}
	}
	return ClassBadRequest
}

// classifyGatewayFault maps a WSO2 API gateway fault code. Throttling codes
// win over the status; otherwise any 401 is a refused bearer token.
func classifyGatewayFault(code string, status int) Class {
	switch {
	case isThrottleFault(code):
		return ClassThrottled
	case code == "900901", code == "900902", code == "900904":
		// invalid, missing or inactive bearer token: refetch and retry once
		return ClassBearerRejected
	}
	return classifyStatus(status)
}

// isThrottleFault reports whether code is one of WSO2's "Message throttled
// out" family (900800 application, 900801 hard limit, 900802 resource,
// 900803 application, 900804 subscription, 900806 custom, 900807 burst …).
func isThrottleFault(code string) bool {
	n, err := strconv.Atoi(code)
	return err == nil && n >= 900800 && n <= 900809
}

// classifyCodedError classifies an M2M {"errorCode"} answer. The status
// decides first where it proves the service did not act on the request
// (5xx: transient; 429: throttled); a 401 whose code names nothing the
// service would say (session, lock, credentials, old password) is the
// gateway's, like every other 401.
func classifyCodedError(op, code string, status int) Class {
	switch {
	case status >= 500:
		return ClassTransient
	case status == http.StatusTooManyRequests:
		return ClassThrottled
	}
	c := classifyM2MCode(op, code)
	if status == http.StatusUnauthorized && c == ClassBadRequest {
		return ClassBearerRejected
	}
	return c
}

// classifyStatus is the fallback when the body says nothing useful. The one
// 401 rule: whatever the body (empty, HTML, OAuth "invalid_token", an
// unknown fault), a 401 is the gateway refusing the bearer token, so the
// request never reached the service.
func classifyStatus(status int) Class {
	switch {
	case status == http.StatusUnauthorized:
		return ClassBearerRejected
	case status == http.StatusTooManyRequests:
		return ClassThrottled
	case status >= 500, status == http.StatusRequestTimeout:
		return ClassTransient
	case status >= 400:
		return ClassBadRequest
	}
	return ClassUnknown
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP
// date (RFC 9110 10.2.3). It returns 0 for an absent, malformed or past
// value, and caps the wait at a day so a hostile answer cannot park a
// caller for ever.
func parseRetryAfter(v string, now time.Time) time.Duration {
	const maxWait = 24 * time.Hour
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseUint(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if err != nil || n > uint64(maxWait/time.Second) {
			return maxWait
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxWait)
}

// MayCountUpstream reports whether a failed login may have been counted by
// ThingSpace toward its 5-failure lockout. It is false only for failures
// that provably never reached the login service: the request never left,
// the API gateway refused the bearer token (any 401) or throttled the
// request (429), the backend does not support the operation, or the
// LockoutGuard refused the attempt. Everything else, a timeout, a 5xx, an
// unreadable answer, an error it does not know, may hide a counted failure
// and so counts: the guard then errs toward stopping early, never toward a
// locked account.
func MayCountUpstream(err error) bool {
	if err == nil || errors.Is(err, ErrGuardRefused) || errors.Is(err, ErrUnsupported) {
		return false
	}
	if e, ok := errors.AsType[*Error](err); ok && e.notSent {
		return false
	}
	switch ClassOf(err) {
	case ClassBearerRejected, ClassThrottled, ClassUnsupported, ClassGuardRefused:
		return false
	}
	return true
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
