package thingspace

import (
	"bytes"
	"encoding/json"
	"strings"
)

// restErrorBody holds every error shape the REST side may answer with:
// M2M {"errorCode","errorMessage"}, WSO2 {"fault":{"code",...}} and OAuth
// {"error","error_description"}.
type restErrorBody struct {
	ErrorCode string `json:"errorCode"`
	Fault     *struct {
		Code json.RawMessage `json:"code"`
	} `json:"fault"`
	OAuthError string `json:"error"`
}

// parseRESTError classifies a non-2xx REST answer (or a 2xx that could not be
// decoded). secrets are replaced in the kept body. It never returns nil.
func parseRESTError(op string, status int, body []byte, secrets []string) *Error {
	e := &Error{Op: op, Status: status, Body: scrub(string(body), maxBody, secrets)}
	if status >= 200 && status < 300 {
		e.Class = ClassUnknown
		return e
	}
	var b restErrorBody
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &b) != nil {
		// HTML proxy pages, empty or truncated bodies: only the status speaks.
		e.Class = classifyStatus(status)
		return e
	}
	switch {
	case b.Fault != nil && len(b.Fault.Code) > 0:
		code := strings.Trim(string(b.Fault.Code), `" `)
		e.Code = scrub(code, maxCode, secrets)
		e.Class = classifyGatewayFault(code, status)
	case b.ErrorCode != "":
		code := stripServicePrefix(b.ErrorCode)
		e.Code = scrub(code, maxCode, secrets)
		e.Class = classifyCodedError(op, code, status)
	case op == opToken && b.OAuthError != "":
		e.Code = scrub(b.OAuthError, maxCode, secrets)
		if status >= 500 {
			e.Class = ClassTransient
		} else {
			e.Class = ClassBearerRejected
		}
	case b.OAuthError != "":
		// {"error":"invalid_token"} from an OAuth-style gateway: the 401
		// rule in classifyStatus decides.
		e.Code = scrub(b.OAuthError, maxCode, secrets)
		e.Class = classifyStatus(status)
	default:
		e.Class = classifyStatus(status)
	}
	return e
}
