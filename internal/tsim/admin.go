package tsim

import (
	"net/http"
	"time"
)

// Admin API: GET /_tsim/stats, GET|PUT /_tsim/users/{name} (PUT takes
// {"password"} and applies the password policy, as ThingSpace Manage does),
// POST /_tsim/users/{name}/unlock, PUT|DELETE /_tsim/users/{name}/faults
// (faultsJSON), PUT|DELETE /_tsim/token/faults ({"latency_ms"}); the
// device inventory's endpoints are in devices_admin.go.

// faultsJSON is the admin API's form of Faults (latency in milliseconds).
type faultsJSON struct {
	LatencyMS         int64 `json:"latency_ms"`
	LoginFailAfter    bool  `json:"login_5xx_after"`
	ResetFailBefore   bool  `json:"reset_5xx_before"`
	ResetFailAfter    bool  `json:"reset_5xx_after"`
	ResetDropAfter    bool  `json:"reset_drop_after"`
	ExpireSessionNext bool  `json:"expire_session_next"`
	RejectBearerNext  bool  `json:"reject_bearer_next"`

	Unauthorized401Next string `json:"unauthorized_401_next"` // "empty", "html" or "invalid_token"
	Throttle            bool   `json:"throttle_429"`
	RetryAfterS         int64  `json:"retry_after_s"`
	ResetMalformed200   bool   `json:"reset_malformed_200"`
	SOAPFault200        bool   `json:"soap_fault_200"`

	ResetCutAfter   int  `json:"reset_cut_after"` // bytes of the answer's body sent (< 0: all but the last -N)
	ResetCutHeaders bool `json:"reset_cut_headers"`
	LoginCutAfter   int  `json:"login_cut_after"`
	LoginCutHeaders bool `json:"login_cut_headers"`

	DeviceActionFailAfter bool `json:"device_action_5xx_after"`
	DeviceActionDropAfter bool `json:"device_action_drop_after"`
}

func (s *Server) handleAdminStats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}

func (s *Server) handleAdminGetUser(w http.ResponseWriter, r *http.Request) {
	c, ok := s.User(r.PathValue("name"))
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such user"})
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) handleAdminPutUser(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Password string `json:"password"`
	}
	if !decodeBody(r, &in) || in.Password == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `body must be {"password":"…"}`})
		return
	}
	if err := CheckPassword(in.Password); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	s.SetUser(r.PathValue("name"), in.Password)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleAdminUnlock(w http.ResponseWriter, r *http.Request) {
	if err := s.Unlock(r.PathValue("name")); err != nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleAdminPutFaults(w http.ResponseWriter, r *http.Request) {
	var in faultsJSON
	if !decodeBody(r, &in) || !validUnauthorized(in.Unauthorized401Next) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "malformed faults"})
		return
	}
	f := Faults{
		Latency:           time.Duration(in.LatencyMS) * time.Millisecond,
		LoginFailAfter:    in.LoginFailAfter,
		ResetFailBefore:   in.ResetFailBefore,
		ResetFailAfter:    in.ResetFailAfter,
		ResetDropAfter:    in.ResetDropAfter,
		ExpireSessionNext: in.ExpireSessionNext,
		RejectBearerNext:  in.RejectBearerNext,

		Unauthorized401Next: in.Unauthorized401Next,
		Throttle:            in.Throttle,
		RetryAfter:          time.Duration(in.RetryAfterS) * time.Second,
		ResetMalformed200:   in.ResetMalformed200,
		SOAPFault200:        in.SOAPFault200,

		ResetCutAfter:   in.ResetCutAfter,
		ResetCutHeaders: in.ResetCutHeaders,
		LoginCutAfter:   in.LoginCutAfter,
		LoginCutHeaders: in.LoginCutHeaders,

		DeviceActionFailAfter: in.DeviceActionFailAfter,
		DeviceActionDropAfter: in.DeviceActionDropAfter,
	}
	if err := s.SetFaults(r.PathValue("name"), f); err != nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleAdminDeleteFaults(w http.ResponseWriter, r *http.Request) {
	if err := s.ClearFaults(r.PathValue("name")); err != nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleAdminPutTokenFaults(w http.ResponseWriter, r *http.Request) {
	var in struct {
		LatencyMS int64 `json:"latency_ms"`
	}
	if !decodeBody(r, &in) || in.LatencyMS < 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `body must be {"latency_ms":N}`})
		return
	}
	s.SetTokenLatency(time.Duration(in.LatencyMS) * time.Millisecond)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleAdminDeleteTokenFaults(w http.ResponseWriter, r *http.Request) {
	s.SetTokenLatency(0)
	w.WriteHeader(http.StatusNoContent)
}
