package tsim

import (
	"encoding/json"
	"io"
	"net/http"
)

const maxRequest = 1 << 20

func decodeBody(r *http.Request, v any) bool {
	return json.NewDecoder(io.LimitReader(r.Body, maxRequest)).Decode(v) == nil
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if !decodeBody(r, &in) {
		// The gateway checks the bearer before the service reads the body.
		if s.checkBearer(w, r, "") {
			writeM2MError(w, http.StatusBadRequest, codeMalformed, "The request body is malformed.")
		}
		return
	}
	f := s.faultsOf(in.Username)
	delay(r, f.Latency)
	if !s.gateway(w, r, in.Username) {
		return
	}
	tok, res := s.login(in.Username, in.Password)
	if f.LoginFailAfter {
		writeProxyError(w)
		return
	}
	switch res {
	case loginLocked:
		writeM2MError(w, http.StatusBadRequest, codeUserLocked, "The user is locked. Please contact M2M support.")
	case loginBad:
		writeM2MError(w, http.StatusBadRequest, codeInvalidCredentials, "Invalid username or password.")
	default:
		b, _ := json.Marshal(map[string]string{"sessionToken": tok}) // a map of strings always encodes
		answerLogin(w, "application/json", append(b, '\n'), f)
	}
}

// session runs the checks every session-bearing M2M request gets: faults of
// the session's user, bearer, session validity. It returns the user name, or
// "" after answering.
func (s *Server) session(w http.ResponseWriter, r *http.Request) string {
	tok := r.Header.Get("VZ-M2M-Token")
	name := s.peekSession(tok)
	delay(r, s.faultsOf(name).Latency)
	if !s.gateway(w, r, name) {
		return ""
	}
	if tok == "" {
		writeM2MError(w, http.StatusBadRequest, codeSessionMissing, "The VZ-M2M-Token header is missing.")
		return ""
	}
	name, ok := s.useSession(tok)
	if !ok {
		writeM2MError(w, http.StatusBadRequest, codeSessionExpired, "Session token is expired.")
		return ""
	}
	return name
}

func (s *Server) peekSession(tok string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if se, ok := s.sessions[tok]; ok {
		return se.user
	}
	return ""
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if s.session(w, r) == "" {
		return
	}
	tok := r.Header.Get("VZ-M2M-Token")
	s.logout(tok)
	writeJSON(w, http.StatusOK, map[string]string{"sessionToken": tok})
}

func (s *Server) handleReset(w http.ResponseWriter, r *http.Request) {
	name := s.session(w, r)
	if name == "" {
		return
	}
	var in struct {
		OldPassword string `json:"oldPassword"`
	}
	if !decodeBody(r, &in) || in.OldPassword == "" {
		writeM2MError(w, http.StatusBadRequest, codeMalformed, "oldPassword is required.")
		return
	}
	f := s.faultsOf(name)
	if f.ResetFailBefore {
		writeM2MError(w, http.StatusInternalServerError, codeUnexpected, "An unexpected error occurred.")
		return
	}
	pw, ok := s.reset(name, in.OldPassword)
	switch {
	case !ok:
		writeM2MError(w, http.StatusBadRequest, codeOldPassword, "The old password is incorrect.")
	case f.ResetDropAfter:
		dropConnection(w)
	case f.ResetFailAfter:
		writeProxyError(w)
	default:
		b, _ := json.Marshal(map[string]string{"newPassword": pw}) // a map of strings always encodes
		tail := "\n"
		if f.ResetMalformed200 {
			tail = malformedTail
		}
		s.answerReset(w, name, pw, jsonText(pw), "application/json", append(b, tail...), f)
	}
}
