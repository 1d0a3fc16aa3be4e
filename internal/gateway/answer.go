package gateway

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// ThingSpace's error shapes: the M2M {"errorCode","errorMessage"} and
// the API gateway's (WSO2) fault.
type m2mError struct {
	ErrorCode    string `json:"errorCode"`
	ErrorMessage string `json:"errorMessage"`
}

type fault struct {
	Fault struct {
		Code        int    `json:"code"`
		Message     string `json:"message"`
		Description string `json:"description"`
	} `json:"fault"`
}

// Gateway fault codes, as ThingSpace's gateway sends them.
const (
	faultInvalid  = 900901 // invalid credentials (a bad or expired bearer token)
	faultMissing  = 900902 // missing credentials
	faultNoMatch  = 900906 // no matching resource
	faultThrottle = 900800 // message throttled out
)

const codePrefix = "UnifiedWebService."

// refusal is an answer the gateway gives itself, without calling
// ThingSpace; reason goes to the audit trail and the metrics.
type refusal struct {
	status     int
	code       string // M2M error code (after the prefix); "" for a fault
	fault      int
	message    string
	reason     string
	retryAfter time.Duration
	oauth      string // an OAuth error code: the token endpoint's shape
	// limit names the limit a 429 hit (HeaderLimit); description, when
	// set, is the fault's description.
	limit       string
	description string
}

func m2m(status int, code, message, reason string) *refusal {
	return &refusal{status: status, code: code, message: message, reason: reason}
}

func gwFault(status, code int, message, reason string) *refusal {
	return &refusal{status: status, fault: code, message: message, reason: reason}
}

func (r *refusal) Error() string { return r.reason }

var (
	errMissing      = gwFault(http.StatusUnauthorized, faultMissing, "Missing Credentials", "missing_credentials")
	errInvalid      = gwFault(http.StatusUnauthorized, faultInvalid, "Invalid Credentials", "invalid_credentials")
	errNoMatch      = gwFault(http.StatusNotFound, faultNoMatch, "No matching resource found for given API Request", "unknown_path")
	errReset        = m2m(http.StatusForbidden, "REQUEST_FAILED.Forbidden", "Password operations are not available through the portal's gateway.", "password_path")
	errSession      = m2m(http.StatusBadRequest, "REQUEST_FAILED.SessionToken.Invalid", "The session token is missing, invalid or expired.", "bad_session")
	errLogin        = m2m(http.StatusBadRequest, "INPUT_INVALID.Login.InvalidCredentials", "Invalid username or password.", "bad_login")
	errJSON         = m2m(http.StatusBadRequest, "INPUT_INVALID.Body.Malformed", "The request body is not valid JSON.", "malformed_json")
	errContentType  = m2m(http.StatusUnsupportedMediaType, "INPUT_INVALID.ContentType", "The request body must be application/json.", "content_type")
	errFormType     = m2m(http.StatusBadRequest, "INPUT_INVALID.ContentType", "The token request must be application/x-www-form-urlencoded.", "content_type")
	errGrant        = m2m(http.StatusBadRequest, "INPUT_INVALID.GrantType", "grant_type must be client_credentials.", "grant_type")
	errTooLarge     = m2m(http.StatusRequestEntityTooLarge, "INPUT_INVALID.Body.TooLarge", "The request body is too large.", "body_too_large")
	errAccount      = m2m(http.StatusForbidden, "REQUEST_FAILED.AccountNotAllowed", "This client may not use that account.", "account")
	errScope        = m2m(http.StatusForbidden, "REQUEST_FAILED.OperationNotAllowed", "This client may not do that operation.", "scope")
	errDualControl  = m2m(http.StatusForbidden, "REQUEST_FAILED.ApprovalRequired", "This department requires a second person's approval to deactivate a line: deactivate it in the portal.", "dual_control")
	errIdemConflict = m2m(http.StatusConflict, "INPUT_INVALID.IdempotencyKey.Reused", "This Idempotency-Key was used with another operation or request body.", "idempotency_reused")
	errIdemBusy     = m2m(http.StatusConflict, "REQUEST_FAILED.IdempotencyKey.InProgress", "A request with this Idempotency-Key is still in progress.", "idempotency_in_progress")
	errIdemKey      = m2m(http.StatusBadRequest, "INPUT_INVALID.IdempotencyKey", "The Idempotency-Key must be 1 to 255 visible characters.", "idempotency_key")
	errBusy         = &refusal{status: http.StatusTooManyRequests, code: "REQUEST_FAILED.TooManyConcurrentRequests", message: "Too many calls in flight for this client.", reason: "concurrency", retryAfter: time.Second, limit: LimitConcurrency}
	errMethod       = m2m(http.StatusMethodNotAllowed, "INPUT_INVALID.Method", "Method not allowed.", "method")
)

// throttled is a 429 in the shape of ThingSpace's gateway, naming the
// limit that was hit in its description and in HeaderLimit.
func throttled(wait time.Duration, limit, reason, description string) *refusal {
	return &refusal{status: http.StatusTooManyRequests, fault: faultThrottle, message: "Message throttled out",
		reason: reason, retryAfter: wait, limit: limit, description: description}
}

func unavailable(reason, message string) *refusal {
	return m2m(http.StatusServiceUnavailable, "REQUEST_FAILED.ServiceUnavailable", message, reason)
}

// write sends the refusal in ThingSpace's shape.
func (r *refusal) write(w http.ResponseWriter) {
	if r.limit != "" {
		w.Header().Set(HeaderLimit, r.limit)
	}
	if r.retryAfter > 0 {
		secs := int((r.retryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	}
	switch {
	case r.status == http.StatusUnauthorized && r.oauth != "":
		w.Header().Set("WWW-Authenticate", `Basic realm="uwsportal"`)
	case r.status == http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="uwsportal"`)
	}
	if r.oauth != "" {
		writeJSON(w, r.status, map[string]string{"error": r.oauth, "error_description": r.message})
		return
	}
	if r.fault != 0 {
		var f fault
		f.Fault.Code, f.Fault.Message, f.Fault.Description = r.fault, r.message, r.message
		if r.description != "" {
			f.Fault.Description = r.description
		}
		writeJSON(w, r.status, f)
		return
	}
	writeJSON(w, r.status, m2mError{ErrorCode: codePrefix + r.code, ErrorMessage: r.message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v) // the gateway's own answers always encode
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
