package channeltest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/netguard"
	"github.com/uwsportal/uwsportal/internal/notify/channel"
)

// Request is one request the Receiver accepted.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
	JSON   map[string]any // Body decoded, or nil when it is not a JSON object
}

// Receiver is an HTTP server (httptest) standing in for a webhook, Slack or
// Teams endpoint. With a secret it checks every request's signature with
// channel.Verify and answers 401 to a bad one; with a nil secret it checks
// nothing.
type Receiver struct {
	URL string

	secret    []byte
	mu        sync.Mutex
	reqs      []Request
	errs      []error
	attempts  int
	failNext  int
	failCode  int
	now       func() time.Time
	tolerance time.Duration
}

// NewReceiver starts a receiver on 127.0.0.1; it closes when the test ends.
func NewReceiver(t testing.TB, secret []byte) *Receiver {
	t.Helper()
	r := &Receiver{secret: append([]byte(nil), secret...), now: time.Now}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	r.URL = srv.URL
	t.Cleanup(srv.Close)
	return r
}

// SetClock makes signature checks use now and tolerance (0: the default),
// for tests whose Sender has a fake clock.
func (r *Receiver) SetClock(now func() time.Time, tolerance time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now, r.tolerance = now, tolerance
}

// FailNext answers 500 to the next n requests.
func (r *Receiver) FailNext(n int) { r.FailNextWith(n, http.StatusInternalServerError) }

// FailNextWith answers status to the next n requests.
func (r *Receiver) FailNextWith(n, status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failNext, r.failCode = n, status
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("read body: %w", err))
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	if r.secret != nil {
		if err := channel.Verify(r.secret, req.Header, body, r.now(), r.tolerance); err != nil {
			r.errs = append(r.errs, err)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
	}
	if r.failNext > 0 {
		r.failNext--
		http.Error(w, "receiver told to fail", r.failCode)
		return
	}
	rec := Request{Method: req.Method, Path: req.URL.Path, Header: req.Header.Clone(), Body: body}
	if json.Unmarshal(body, &rec.JSON) != nil {
		rec.JSON = nil
	}
	r.reqs = append(r.reqs, rec)
	w.WriteHeader(http.StatusAccepted) // what Teams Workflows answers; any 2xx is success
}

// Received returns the requests accepted (answered 2xx) so far.
func (r *Receiver) Received() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.reqs...)
}

// Errors returns the signature (and read) failures so far.
func (r *Receiver) Errors() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

// Attempts counts every request, accepted or not.
func (r *Receiver) Attempts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.attempts
}

// WaitFor waits until at least n requests have been accepted and returns
// them; the test fails if they do not arrive within timeout.
func (r *Receiver) WaitFor(t testing.TB, n int, timeout time.Duration) []Request {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if got := r.Received(); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("channeltest: %d of %d requests accepted within %s (errors: %v)", len(r.Received()), n, timeout, r.Errors())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Loopback is a guard that lets senders reach this machine's loopback
// addresses, where the test receivers listen (a portal allows none).
var Loopback = netguard.New(netguard.Options{Allowed: func(context.Context) ([]netguard.Network, error) {
	return []netguard.Network{{Name: "test receivers", Prefix: netip.MustParsePrefix("127.0.0.0/8")},
		{Name: "test receivers (IPv6)", Prefix: netip.MustParsePrefix("::1/128")}}, nil
}})
