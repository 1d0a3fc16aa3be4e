package testdb

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// Wire is a TCP proxy in front of the test database that counts the round
// trips its clients make to run statements: each Sync of the extended
// protocol that follows a Bind, and each simple Query, is one wait for the
// server. A pipelined batch (the audit group commit) ends in one Sync, so
// it counts once. Trips that only prepare statements are not counted: each
// connection makes them once per statement, so they depend on which pooled
// connection a request happens to get. The connections must not use TLS
// (the test server's URLs say sslmode=disable).
type Wire struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	trips  []string
}

// NewWire returns a counting proxy to the server behind dsn and dsn
// rewritten to go through it.
func NewWire(t testing.TB, dsn string) (*Wire, string) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &Wire{ln: ln, target: u.Host}
	go w.accept()
	t.Cleanup(func() { _ = ln.Close() })
	u.Host = ln.Addr().String()
	return w, u.String()
}

// Reset forgets the round trips counted so far.
func (w *Wire) Reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.trips = nil
}

// Trips returns the round trips counted since the last Reset, each named
// by the statements it carried (pgx's connection pings are left out).
func (w *Wire) Trips() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.trips...)
}

func (w *Wire) accept() {
	for {
		c, err := w.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", w.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		go func() {
			_, _ = io.Copy(c, up)
			_ = c.Close()
		}()
		go func() {
			w.count(up, c)
			_ = up.Close()
		}()
	}
}

// count forwards the client's messages to the server, noting each round
// trip with the statements it carried.
func (w *Wire) count(dst io.Writer, src io.Reader) {
	r := bufio.NewReader(src)
	names := map[string]string{} // prepared statement name → SQL
	var pending []string
	startup := true
	for {
		var head [5]byte
		n := 5
		if startup {
			n = 4 // the startup messages have no type byte
		}
		if _, err := io.ReadFull(r, head[5-n:]); err != nil {
			return
		}
		size := int(binary.BigEndian.Uint32(head[1:]))
		if size < 4 {
			return
		}
		body := make([]byte, size-4)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		if _, err := dst.Write(append(head[5-n:], body...)); err != nil {
			return
		}
		if startup {
			// SSLRequest and GSSENCRequest come before the real startup.
			code := uint32(0)
			if len(body) >= 4 {
				code = binary.BigEndian.Uint32(body)
			}
			startup = code == 80877103 || code == 80877104
			continue
		}
		switch head[0] {
		case 'P': // Parse: statement name, query
			if parts := bytes.SplitN(body, []byte{0}, 3); len(parts) == 3 {
				names[string(parts[0])] = oneLine(string(parts[1]))
			}
		case 'B': // Bind: portal, statement name
			if parts := bytes.SplitN(body, []byte{0}, 3); len(parts) == 3 {
				pending = append(pending, names[string(parts[1])])
			}
		case 'Q':
			q := oneLine(string(bytes.TrimRight(body, "\x00")))
			if q != "-- ping" && q != ";" {
				w.note(q)
			}
		case 'S':
			// A trip that only prepared statements (once per connection
			// and statement, while its cache is cold) is not counted.
			if len(pending) > 0 {
				w.note(strings.Join(pending, " | "))
			}
			pending = nil
		}
	}
}

func (w *Wire) note(trip string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.trips = append(w.trips, trip)
}

func oneLine(q string) string {
	return strings.Join(strings.Fields(q), " ")
}
