package thingspace

import "strings"

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

// classifyFaultText maps SOAP fault text (faultstring, faultcode and detail,
// lower-cased) to a class, with the same precedence as classifyM2MCode. A
// server fault we do not recognise stays ClassUnknown, so a reset that ended
// in one is reported as of unknown outcome rather than as rejected.
func classifyFaultText(op, text string, clientFault bool) Class {
	t := strings.ToLower(text)
	switch {
	case strings.Contains(t, "session") && containsAny(t, "expired", "invalid", "not found", "timed out", "timeout"),
		strings.Contains(t, "token") && containsAny(t, "expired", "invalid"):
		return ClassSessionExpired
	case containsAny(t, "locked", "lockout", "suspended", "disabled"):
		return ClassLocked
	}
	switch op {
	case opLogin:
		if containsAny(t, "password", "credential", "username", "user name", "login failed", "log in failed", "authentica") {
			return ClassInvalidCredentials
		}
	case opReset:
		if containsAny(t, "password", "credential") {
			return ClassWrongOldPassword
		}
	}
	if clientFault {
		return ClassBadRequest
	}
	return ClassUnknown
}

// classifyGatewayFault maps a WSO2 API gateway fault code.
func classifyGatewayFault(code string, status int) Class {
	switch {
	case code == "900901", code == "900902", code == "900904":
		// invalid, missing or inactive bearer token: refetch and retry once
		return ClassBearerRejected
	case strings.HasPrefix(code, "9008"): // throttling
		return ClassTransient
	}
	return classifyStatus(status)
}

// classifyStatus is the fallback when the body says nothing useful.
func classifyStatus(status int) Class {
	switch {
	case status >= 500, status == 408, status == 429:
		return ClassTransient
	case status >= 400:
		return ClassBadRequest
	}
	return ClassUnknown
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
