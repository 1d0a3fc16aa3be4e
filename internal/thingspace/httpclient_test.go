package thingspace_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/thingspace"
)

// The portal's calls to ThingSpace keep their connections: after a burst
// of 100 calls at once (the gateway's callers), the next burst opens none.
// With Go's default of two idle connections per host (or the 16 kept
// before), every call past those opened a connection, and over TLS a
// handshake, once the burst was over: direct calls at 100 concurrent
// callers ran 20–30% slower (BENCHMARKS.md).
func TestABurstOfCallsKeepsItsConnections(t *testing.T) {
	t.Parallel()
	const burst = 100
	var opened atomic.Int32
	var arrived sync.WaitGroup
	gate := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Done()
		<-gate // every call of the burst is in flight at once
		if _, err := io.WriteString(w, "{}"); err != nil {
			t.Error(err)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	hc := thingspace.NewHTTPClient(10 * time.Second)
	wave := func() {
		arrived.Add(burst)
		gate = make(chan struct{})
		var wg sync.WaitGroup
		for range burst {
			wg.Go(func() {
				res, err := hc.Get(srv.URL)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := io.Copy(io.Discard, res.Body); err != nil {
					t.Error(err)
				}
				if err := res.Body.Close(); err != nil {
					t.Error(err)
				}
			})
		}
		arrived.Wait()
		close(gate)
		wg.Wait()
	}
	wave()
	first := opened.Load()
	if first != burst {
		t.Fatalf("the first burst opened %d connections, want %d", first, burst)
	}
	wave()
	if again := opened.Load() - first; again != 0 {
		t.Fatalf("the second burst of %d calls opened %d connections, want none", burst, again)
	}
}
