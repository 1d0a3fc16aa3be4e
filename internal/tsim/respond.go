package tsim

import (
	"encoding/json"
	"net/http"
	"time"
)

// Error codes the simulator answers with. The real codes are unconfirmed;
// these follow the documented shape (service prefix, category, detail).
const (
	codeInvalidCredentials = "UnifiedWebService.INPUT_INVALID.Login.InvalidCredentials"
	codeUserLocked         = "UnifiedWebService.REQUEST_FAILED.Login.UserLocked"
	codeSessionExpired     = "UnifiedWebService.REQUEST_FAILED.SessionToken.Expired"
	codeSessionMissing     = "UnifiedWebService.INPUT_INVALID.SessionToken.Missing"
	codeOldPassword        = "UnifiedWebService.INPUT_INVALID.Password.OldPasswordMismatch"
	codeMalformed          = "UnifiedWebService.INPUT_INVALID.Request.Malformed"
	codeUnexpected         = "UnifiedWebService.REQUEST_FAILED.UnexpectedError"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may have gone; nothing to do
}

func writeM2MError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"errorCode": code, "errorMessage": msg})
}

func writeGatewayFault(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{"fault": map[string]any{
		"code": code, "message": msg, "description": msg + ". Make sure your API invocation call has a header: 'Authorization: Bearer ACCESS_TOKEN'",
	}})
}

// writeProxyError answers like a load balancer whose upstream failed.
func writeProxyError(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusBadGateway)
	_, _ = w.Write([]byte("<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>\n"))
}

// dropConnection closes the client's connection without an answer.
func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // HTTP/2: abort the stream instead
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// delay waits d of real time, or until the client goes away; either way the
// request is then processed, as a real server would.
func delay(r *http.Request, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}
