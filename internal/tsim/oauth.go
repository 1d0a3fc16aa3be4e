package tsim

import (
	"crypto/rand"
	"crypto/subtle"
	"net/http"
	"strings"
)

// handleToken is the OAuth client-credentials endpoint. While a token is
// valid the same token is returned, as ThingSpace does.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.TokenRequests++
	s.mu.Unlock()
	delay(r, s.tokenDelay())
	key, secret, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(key), []byte(s.opts.AppKey)) != 1 ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.AppSecret)) != 1 {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "Client Authentication failed."})
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type", "error_description": "Unsupported grant_type value"})
		return
	}
	s.mu.Lock()
	now := s.now()
	if s.bearer == "" || !now.Before(s.bearerAt) {
		s.bearer, s.bearerAt = rand.Text(), now.Add(s.opts.BearerTTL)
		s.stats.TokensIssued++
	}
	tok, left := s.bearer, s.bearerAt.Sub(now)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok, "token_type": "Bearer", "scope": "default", "expires_in": int64(left.Seconds()),
	})
}

// checkBearer answers as the API gateway does and reports whether the
// request may go on. name (may be "") selects the RejectBearerNext fault,
// which also revokes the token so that the client must fetch another.
func (s *Server) checkBearer(w http.ResponseWriter, r *http.Request, name string) bool {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		s.rejectBearer(w, 900902, "Missing Credentials")
		return false
	}
	s.mu.Lock()
	valid := tok == s.bearer && s.now().Before(s.bearerAt)
	if u := s.users[name]; valid && u != nil && u.faults.RejectBearerNext {
		u.faults.RejectBearerNext = false
		s.bearer, valid = "", false
	}
	s.mu.Unlock()
	if !valid {
		s.rejectBearer(w, 900901, "Invalid Credentials")
		return false
	}
	return true
}

func (s *Server) rejectBearer(w http.ResponseWriter, code int, msg string) {
	s.mu.Lock()
	s.stats.BearerRejections++
	s.mu.Unlock()
	writeGatewayFault(w, http.StatusUnauthorized, code, msg)
}
