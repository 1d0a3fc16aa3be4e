package faults

import (
	"bytes"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/tsim"
)

// front serves the simulator to every instance's door. It counts the
// requests in flight (a step ends when the simulator is idle) and records
// the upstream calls of the step in order: which instance sent which
// login, reset or device call, and with which password each login was
// made (a person's wrong password is theirs to spend, invariant 1).
type front struct {
	sim   *tsim.Server
	doors doors // the instances' doors' connections

	mu       sync.Mutex
	inflight int
	start    time.Time
	calls    []call
	// dropped counts, by username, the logins a dead instance's door
	// dropped after the instance had written them (see drop).
	dropped map[string]int
	// A replay's expected calls of the step (see inTurn).
	expect   []call
	used     []bool
	diverged int // calls a replay did not find in their turn
}

// call is one upstream request, as the trace records it.
type call struct {
	AtMS     int64  `json:"at_ms"`
	Instance string `json:"instance"` // "a#0": instance a, first life
	Kind     string `json:"kind"`
	User     string `json:"user,omitempty"`    // logins: the username sent; device calls: the session's user
	Account  string `json:"account,omitempty"` // device calls: the accountName sent
	password string // logins only; never written out
}

func newFront(sim *tsim.Server) *front { return &front{sim: sim, start: time.Now()} }

// serve handles r for the instance named from.
func (f *front) serve(from string, w http.ResponseWriter, r *http.Request) {
	kind, user, pw := classify(r)
	c := call{AtMS: time.Since(f.start).Milliseconds(), Instance: from, Kind: kind, User: user, password: pw}
	if strings.HasPrefix(kind, "device-") {
		c.User, _ = f.sim.SessionUser(r.Header.Get("VZ-M2M-Token"))
		var in struct{ AccountName string }
		if json.Unmarshal(peekBody(r), &in) == nil {
			c.Account = in.AccountName
		}
	}
	f.mu.Lock()
	replay := f.expect != nil
	f.mu.Unlock()
	if kind != "" && replay {
		f.inTurn(c)
	}
	f.mu.Lock()
	f.inflight++
	if kind != "" {
		c.AtMS = time.Since(f.start).Milliseconds()
		f.calls = append(f.calls, c)
	}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inflight--
		f.mu.Unlock()
	}()
	f.sim.ServeHTTP(w, r)
}

// drop notes r, which a dead instance's door drops unread. The instance
// wrote it whole: a login it may still audit, as one that may have
// counted (it cannot know), while ThingSpace never saw it.
func (f *front) drop(r *http.Request) {
	if kind, user, _ := classify(r); kind == "login" {
		f.mu.Lock()
		if f.dropped == nil {
			f.dropped = map[string]int{}
		}
		f.dropped[strings.ToLower(user)]++
		f.mu.Unlock()
	}
}

// takeDropped returns the logins dropped since the last take, by username.
func (f *front) takeDropped() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.dropped
	f.dropped = nil
	return out
}

// take returns the calls recorded since the last take.
func (f *front) take() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.calls
	f.calls = nil
	return out
}

// idle waits until no request is in flight, nor written to a door and
// not yet read.
func (f *front) idle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		f.mu.Lock()
		n := f.inflight
		f.mu.Unlock()
		if n == 0 && !f.doors.busy() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the simulator still handles %d requests after 30 s", n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

var soapField = regexp.MustCompile(`<(?:\w+:)?(Username|Password)>([^<]*)</`)

// classify names an upstream call: login (with its user and password),
// reset, device list or action; "" for the rest (token, logout, admin).
// The body is read and put back.
func classify(r *http.Request) (kind, user, pw string) {
	path := r.URL.Path
	switch {
	case strings.HasSuffix(path, "/session/login"):
		var in struct{ Username, Password string }
		body := peekBody(r)
		if json.Unmarshal(body, &in) == nil {
			return "login", in.Username, in.Password
		}
		return "login", "", ""
	case strings.HasSuffix(path, "/password/actions/reset"):
		return "reset", "", ""
	case strings.HasSuffix(path, "/devices/actions/list"):
		return "device-list", "", ""
	case strings.Contains(path, "/devices/actions/"):
		return "device-action", "", ""
	case strings.HasSuffix(path, "SessionService.svc"):
		a := r.Header.Get("SOAPAction")
		switch {
		case strings.Contains(a, "/LogIn"):
			fields := map[string]string{}
			for _, m := range soapField.FindAllSubmatch(peekBody(r), -1) {
				fields[string(m[1])] = html.UnescapeString(string(m[2]))
			}
			return "login", fields["Username"], fields["Password"]
		case strings.Contains(a, "/GetNewPassword"):
			return "reset", "", ""
		}
	}
	return "", "", ""
}

// peekBody reads r's body and puts it back.
func peekBody(r *http.Request) []byte {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		b = nil // the simulator will see the same broken body
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return b
}
