package faults

import (
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"
)

// doors tracks the connections of the instances' doors to ThingSpace, so
// that a step ends only once every request an instance wrote has been
// read. A login written just before its caller gave up is audited at once
// as one that may have counted; its bytes can still sit in the door's
// socket, unread, while the door's server waits for a core, and a step
// that ended then found one more login in the audit trail than ThingSpace
// had seen (seed 696164212, under the load of 20 seeds at once).
type doors struct {
	mu        sync.Mutex
	listeners []net.Listener
	conns     map[net.Conn]http.ConnState
}

// listen adds a door's listener: a connection the portal opened and wrote
// to may still wait in its accept queue.
func (d *doors) listen(ln net.Listener) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.listeners = append(d.listeners, ln)
}

// track is the doors' http.Server ConnState hook.
func (d *doors) track(c net.Conn, s http.ConnState) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conns == nil {
		d.conns = map[net.Conn]http.ConnState{}
	}
	switch s {
	case http.StateClosed, http.StateHijacked:
		delete(d.conns, c)
	default:
		d.conns[c] = s
	}
}

// busy says whether a door is reading or serving a request, holds bytes
// of one it has not read, or has a connection it has not accepted. A
// connection accepted and never written to (a transport may dial one it
// then keeps idle) is not busy.
func (d *doors) busy() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, ln := range d.listeners {
		if unaccepted(ln) > 0 {
			return true
		}
	}
	for c, s := range d.conns {
		if s == http.StateActive || unread(c) > 0 {
			return true
		}
	}
	return false
}

// A door is busy while a request's bytes wait in its socket unread, and
// while its server reads or serves one; not for a connection merely open.
func TestDoorsAreBusyWhileARequestIsUnread(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("a socket's unread bytes are read with Linux's SIOCINQ")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var d doors
	d.listen(ln)
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if !d.busy() {
		t.Fatal("a connection in the door's accept queue is not seen")
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	d.track(server, http.StateNew)
	if d.busy() {
		t.Fatal("a connection accepted and not written to is busy")
	}
	req := "GET / HTTP/1.1\r\nHost: door\r\n\r\n"
	if _, err := client.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !d.busy() {
		if time.Now().After(deadline) {
			t.Fatalf("a request written to the door is not seen unread (%d bytes queued)", unread(server))
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := io.ReadFull(server, make([]byte, len(req))); err != nil {
		t.Fatal(err)
	}
	if d.busy() {
		t.Fatal("the door is busy once the request was read and the connection is idle")
	}
	d.track(server, http.StateActive)
	if !d.busy() {
		t.Fatal("a door serving a request is not busy")
	}
	d.track(server, http.StateClosed)
	if d.busy() || len(d.conns) != 0 {
		t.Fatal("a closed connection is still tracked")
	}
}
