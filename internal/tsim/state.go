package tsim

import (
	"crypto/rand"
	"fmt"
	"time"
)

// Faults are injected per user. The one-shot faults (…Next) clear themselves
// when they fire; the others stay until replaced or cleared.
type Faults struct {
	Latency           time.Duration // real-time delay before each request of the user is handled
	LoginFailAfter    bool          // login is processed (and counted), then answered 502
	ResetFailBefore   bool          // reset answers 500 without changing anything
	ResetFailAfter    bool          // reset applies the new password, then answers 502
	ResetDropAfter    bool          // reset applies the new password, then drops the connection
	ExpireSessionNext bool          // the next session-bearing call finds its session expired
	RejectBearerNext  bool          // the next REST call of the user gets gateway fault 900901

	// Unauthorized401Next makes the next REST call of the user answered 401
	// with the body named (Unauthorized401Empty, Unauthorized401HTML,
	// Unauthorized401InvalidToken) and revokes the bearer token, as a
	// gateway or proxy in front of it may do.
	Unauthorized401Next string
	Throttle            bool          // every REST call of the user gets 429, WSO2 fault 900800 and Retry-After
	RetryAfter          time.Duration // Retry-After of Throttle, whole seconds (default 1s)
	ResetMalformed200   bool          // reset applies, then answers 200 with the new password followed by garbage
	SOAPFault200        bool          // SOAP faults for the user come with HTTP 200 instead of 500

	// Cut answers (cut.go): the answer is a 200 announcing its whole
	// length, and the connection closes after N bytes of its body (N < 0:
	// before its last -N bytes), or right after its headers.
	ResetCutAfter   int  // reset applies; its answer's body is cut after N bytes (0: no cut)
	ResetCutHeaders bool // reset applies; nothing of its answer's body is sent
	LoginCutAfter   int  // login is processed (and counted); its answer's body is cut after N bytes
	LoginCutHeaders bool // login is processed (and counted); nothing of its answer's body is sent

	DeviceActionFailAfter bool // every device action is applied, then answered 502 (a lost answer)
	DeviceActionDropAfter bool // every device action is applied, then the connection is dropped
}

// Counters are what the simulator observed for one user. Password is the
// user's current password (the simulator is test-only).
type Counters struct {
	Password               string `json:"password"`
	LoginsOK               int    `json:"logins_ok"`
	LoginFailures          int    `json:"login_failures"`
	ConsecutiveFailures    int    `json:"consecutive_failures"`
	MaxConsecutiveFailures int    `json:"max_consecutive_failures"`
	Locked                 bool   `json:"locked"`
	ResetsApplied          int    `json:"resets_applied"`
	ResetsRejected         int    `json:"resets_rejected"`
	Logouts                int    `json:"logouts"`
	Calls                  int    `json:"calls"`
	ActiveSessions         int    `json:"active_sessions"`
	DeviceLists            int    `json:"device_lists"`            // list calls (also counted in Calls)
	DeviceActions          int    `json:"device_actions"`          // device actions applied (also in Calls)
	DeviceActionsRejected  int    `json:"device_actions_rejected"` // device actions refused with a 400 (also in Calls)
	// ResetsDelivered counts reset answers that carried their new password
	// whole (cut or not); DeliveredPassword is the newest such password.
	ResetsDelivered   int    `json:"resets_delivered"`
	DeliveredPassword string `json:"delivered_password"`
}

// Stats are totals over all users.
type Stats struct {
	Requests         int `json:"requests"`
	TokenRequests    int `json:"token_requests"`
	TokensIssued     int `json:"tokens_issued"`
	BearerRejections int `json:"bearer_rejections"`
	LoginsOK         int `json:"logins_ok"`
	LoginFailures    int `json:"login_failures"`
	ResetsApplied    int `json:"resets_applied"`
	Calls            int `json:"calls"`
}

type user struct {
	password string
	c        Counters
	faults   Faults
}

// SetUser creates name with password, or replaces its password (as an admin
// does in ThingSpace Manage; the lock state is kept).
func (s *Server) SetUser(name, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.users[name]; ok {
		u.password = password
		return
	}
	s.users[name] = &user{password: password}
}

// User returns name's counters; ok is false if there is no such user.
func (s *Server) User(name string) (c Counters, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[name]
	if !ok {
		return Counters{}, false
	}
	c = u.c
	c.Password = u.password
	for _, se := range s.sessions {
		if se.user == name && s.now().Sub(se.lastUsed) <= s.opts.SessionIdle {
			c.ActiveSessions++
		}
	}
	return c, true
}

// Unlock unlocks name and clears its consecutive failures (what Verizon
// support does by phone).
func (s *Server) Unlock(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[name]
	if !ok {
		return fmt.Errorf("tsim: no user %q", name)
	}
	u.c.Locked, u.c.ConsecutiveFailures = false, 0
	return nil
}

// SetFaults replaces name's injected faults.
func (s *Server) SetFaults(name string, f Faults) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[name]
	if !ok {
		return fmt.Errorf("tsim: no user %q", name)
	}
	u.faults = f
	return nil
}

// ClearFaults removes name's injected faults.
func (s *Server) ClearFaults(name string) error { return s.SetFaults(name, Faults{}) }

// Stats returns the totals.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// ExpireSessions makes every session expired, as if idle for too long.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.sessions)
}

// faultsOf returns name's faults (zero for an unknown user).
func (s *Server) faultsOf(name string) Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.users[name]; ok {
		return u.faults
	}
	return Faults{}
}

type loginResult int

const (
	loginOK loginResult = iota
	loginBad
	loginLocked
)

// login checks a username and password, keeping the lockout counters the
// way ThingSpace does: every failure (even on a locked account) is a
// consecutive failure, a success resets the count, the lock is sticky.
func (s *Server) login(name, password string) (string, loginResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[name]
	if !ok {
		s.stats.LoginFailures++
		return "", loginBad
	}
	if u.c.Locked || u.password != password {
		u.c.LoginFailures++
		u.c.ConsecutiveFailures++
		u.c.MaxConsecutiveFailures = max(u.c.MaxConsecutiveFailures, u.c.ConsecutiveFailures)
		s.stats.LoginFailures++
		wasLocked := u.c.Locked
		if u.c.ConsecutiveFailures >= s.opts.Lockout {
			u.c.Locked = true
		}
		if wasLocked {
			return "", loginLocked
		}
		return "", loginBad
	}
	u.c.LoginsOK++
	u.c.ConsecutiveFailures = 0
	s.stats.LoginsOK++
	tok := rand.Text()
	s.sessions[tok] = &session{user: name, lastUsed: s.now()}
	return tok, loginOK
}

// useSession resolves a session token, expiring it if idle too long or if
// the user's ExpireSessionNext fault is armed, and marks it used.
func (s *Server) useSession(tok string) (name string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	se, ok := s.sessions[tok]
	if !ok {
		return "", false
	}
	now := s.now()
	if now.Sub(se.lastUsed) > s.opts.SessionIdle {
		delete(s.sessions, tok)
		return "", false
	}
	if u := s.users[se.user]; u != nil && u.faults.ExpireSessionNext {
		u.faults.ExpireSessionNext = false
		delete(s.sessions, tok)
		return "", false
	}
	se.lastUsed = now
	return se.user, true
}

func (s *Server) logout(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if se, ok := s.sessions[tok]; ok {
		if u := s.users[se.user]; u != nil {
			u.c.Logouts++
		}
		delete(s.sessions, tok)
	}
}

// reset replaces name's password if old matches, returning the new one.
func (s *Server) reset(name, old string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[name]
	if !ok || u.password != old {
		if ok {
			u.c.ResetsRejected++
		}
		return "", false
	}
	u.password = newPassword()
	u.c.ResetsApplied++
	s.stats.ResetsApplied++
	return u.password, true
}
