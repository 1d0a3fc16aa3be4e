package tsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Cut answers: ThingSpace (or a proxy in front of it) announces a whole
// 200 answer and the connection is closed part-way through its body, so
// the client reads fewer bytes than Content-Length says. The faults are in
// Faults (ResetCutAfter, ResetCutHeaders, LoginCutAfter, LoginCutHeaders);
// the simulator records, per user, the newest password a reset answer
// carried whole (Counters.DeliveredPassword), so a test can tell a password
// the portal could read from one it never saw.

// cut says how an answer is cut: after n bytes of its body (n < 0: all
// but its last -n bytes), or (headers) right after its headers; zero is
// no cut.
type cut struct {
	n       int
	headers bool
}

func (c cut) active() bool { return c.n != 0 || c.headers }

// resetCut and loginCut are f's cuts of a reset or a login answer.
func (f Faults) resetCut() cut { return cut{n: f.ResetCutAfter, headers: f.ResetCutHeaders} }
func (f Faults) loginCut() cut { return cut{n: f.LoginCutAfter, headers: f.LoginCutHeaders} }

// sent is how many bytes of a body of size bytes c lets through.
func (c cut) sent(size int) int {
	switch {
	case c.headers:
		return 0
	case c.n < 0:
		return max(0, size+c.n)
	}
	return min(c.n, size)
}

// writeCut answers 200 with body's whole length announced, sends what c
// lets through and closes the connection.
func writeCut(w http.ResponseWriter, contentType string, body []byte, c cut) {
	if f, ok := w.(fault200Writer); ok {
		w = f.ResponseWriter
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // HTTP/2: abort the stream instead
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	defer conn.Close()
	fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", contentType, len(body))
	_, _ = buf.Write(body[:c.sent(len(body))])
	_ = buf.Flush() // the client may have gone; the cut is the point
}

// answerReset sends a reset's 200 answer carrying pw, encoded as enc, in
// body (cut if f says so). It first records whether pw goes out whole:
// every byte of enc and the byte after it (its closing quote or tag), so
// that a reader can know it has the whole password.
func (s *Server) answerReset(w http.ResponseWriter, name, pw, enc, contentType string, body []byte, f Faults) {
	c := f.resetCut()
	sent := len(body)
	if c.active() {
		sent = c.sent(len(body))
	}
	if at := strings.Index(string(body), enc); at >= 0 && sent > at+len(enc) {
		s.delivered(name, pw)
	}
	if c.active() {
		writeCut(w, contentType, body, c)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body) // the client may have gone
}

// answerLogin sends a login's 200 answer, cut if f says so.
func answerLogin(w http.ResponseWriter, contentType string, body []byte, f Faults) {
	if c := f.loginCut(); c.active() {
		writeCut(w, contentType, body, c)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body) // the client may have gone
}

// jsonText is s as it appears inside a JSON string (HTML characters
// escaped, as encoding/json does).
func jsonText(s string) string {
	b, _ := json.Marshal(s) // a string always encodes
	return string(b[1 : len(b)-1])
}

// delivered records that a reset answer carried pw whole to name's caller.
func (s *Server) delivered(name, pw string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.users[name]; ok {
		u.c.ResetsDelivered++
		u.c.DeliveredPassword = pw
	}
}
