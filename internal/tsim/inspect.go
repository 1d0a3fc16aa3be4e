package tsim

// SessionUser is the user a session token belongs to (ok false for an
// unknown or expired token), without using it: a test can see whose
// session a request carried (the session keying of its caller).
func (s *Server) SessionUser(tok string) (user string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	se, ok := s.sessions[tok]
	if !ok {
		return "", false
	}
	return se.user, true
}
