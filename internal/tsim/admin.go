package tsim

import (
	"net/http"
	"time"
)

// faultsJSON is the admin API's form of Faults (latency in milliseconds).
type faultsJSON struct {
	LatencyMS         int64 `json:"latency_ms"`
	LoginFailAfter    bool  `json:"login_5xx_after"`
	ResetFailBefore   bool  `json:"reset_5xx_before"`
	ResetFailAfter    bool  `json:"reset_5xx_after"`
	ResetDropAfter    bool  `json:"reset_drop_after"`
	ExpireSessionNext bool  `json:"expire_session_next"`
	RejectBearerNext  bool  `json:"reject_bearer_next"`
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
	if !decodeBody(r, &in) {
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
