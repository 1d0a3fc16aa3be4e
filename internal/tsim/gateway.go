package tsim

import (
	"net/http"
	"strconv"
	"time"
)

// Bodies of the Unauthorized401Next fault.
const (
	Unauthorized401Empty        = "empty"         // no body at all
	Unauthorized401HTML         = "html"          // a proxy's HTML page
	Unauthorized401InvalidToken = "invalid_token" // OAuth style {"error":"invalid_token"}
)

// malformedTail follows a whole answer in the ResetMalformed200 fault.
const malformedTail = "\n<!-- upstream proxy: response truncated -->\x00garbage"

func validUnauthorized(kind string) bool {
	switch kind {
	case "", Unauthorized401Empty, Unauthorized401HTML, Unauthorized401InvalidToken:
		return true
	}
	return false
}

// gateway answers as the API gateway in front of the M2M service does and
// reports whether the request may go on: the user's throttling and 401
// faults first, then the bearer check.
func (s *Server) gateway(w http.ResponseWriter, r *http.Request, name string) bool {
	s.mu.Lock()
	var f Faults
	if u := s.users[name]; u != nil {
		f = u.faults
		if !f.Throttle && f.Unauthorized401Next != "" {
			u.faults.Unauthorized401Next = "" // one-shot
			s.bearer = ""                     // the client must fetch another token
			s.stats.BearerRejections++
		}
	}
	s.mu.Unlock()
	switch {
	case f.Throttle:
		secs := max(int64(1), int64((f.RetryAfter+time.Second-1)/time.Second))
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		writeGatewayFault(w, http.StatusTooManyRequests, 900800, "Message throttled out")
		return false
	case f.Unauthorized401Next != "":
		writeUnauthorized(w, f.Unauthorized401Next)
		return false
	}
	return s.checkBearer(w, r, name)
}

func writeUnauthorized(w http.ResponseWriter, kind string) {
	switch kind {
	case Unauthorized401HTML:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte("<html><head><title>401 Authorization Required</title></head><body><h1>401 Authorization Required</h1></body></html>\n"))
	case Unauthorized401InvalidToken:
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "The access token is invalid or has expired"})
	default:
		w.WriteHeader(http.StatusUnauthorized)
	}
}

// SetTokenLatency delays every answer of the OAuth token endpoint by d of
// real time (0 removes the delay): a slow token endpoint.
func (s *Server) SetTokenLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenLatency = d
}

func (s *Server) tokenDelay() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenLatency
}
