package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/rotation"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/internal/tsim"
	"github.com/uwsportal/uwsportal/models"
)

// loginLease is the guard's lease in the schedule: longer than any login
// the faults allow (latency stays far below the 5 s HTTP timeout).
const loginLease = 3 * time.Second

// sdept is one department of the schedule and what the test knows of it.
type sdept struct {
	slug, user string
	proto      models.Protocol

	// personMismatch: a person made the stored password and ThingSpace's
	// differ (invariant 2a).
	personMismatch bool
	// mayBeLost: a reset was applied while its answer could not reach the
	// portal, since the last entry (invariant 2b).
	mayBeLost bool
	// auto: failed logins ThingSpace saw from automatic paths since the
	// last reset point (invariant 1).
	auto int
	// unaudited: logins in flight when their process was killed, which can
	// leave no event (invariant 4); and, while knownCancelUnsettled, logins
	// whose caller cancelled them.
	unaudited int
	// uncertain: logins whose caller cancelled them while they were on
	// the wire; the portal audits each as a failure that may have counted
	// (the safe side), though ThingSpace may never have finished it.
	uncertain int
}

// world is one seed's portal: two instances, one database, one simulator.
type world struct {
	t         *testing.T
	seed      uint64
	rng       *rand.Rand
	threshold int
	inst      [2]*apptest.Env
	sched     [2]*rotation.Scheduler
	depts     []*sdept
	url       string // the database
	masterKey string
	bin       string   // the real portal binary, for processes to kill
	log       []string // the steps so far, for the failure report
	knownHits int      // steps excused by knownCancelUnsettled

	front *front
	hits  int // interesting requests seen by the current hook (front.mu)
}

// front serves the simulator with a hook run before each request and
// counts the requests in flight, so that a step can wait until the
// simulator has handled what a cancelled or killed caller sent.
type front struct {
	sim *tsim.Server

	mu       sync.Mutex
	hook     func(*http.Request)
	inflight int
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.inflight++
	h := f.hook
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inflight--
		f.mu.Unlock()
	}()
	if h != nil {
		h(r)
	}
	f.sim.ServeHTTP(w, r)
}

func (f *front) setHook(h func(*http.Request)) {
	f.mu.Lock()
	f.hook = h
	f.mu.Unlock()
}

// idle waits until no request is in flight.
func (f *front) idle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		f.mu.Lock()
		n := f.inflight
		f.mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the simulator still handles %d requests after 30 s", n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func newWorld(t *testing.T, seed uint64, bin string) *world {
	t.Helper()
	w := &world{t: t, seed: seed, bin: bin, rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), url: testdb.URL(t), masterKey: secret.GenerateKey()}
	w.threshold = 2 + w.rng.IntN(3)
	keys, err := secret.ParseKeys(w.masterKey)
	if err != nil {
		t.Fatal(err)
	}
	w.front = &front{sim: tsim.New(tsim.Options{AppKey: apptest.SimKey, AppSecret: apptest.SimSecret})}
	hs := httptest.NewServer(w.front)
	t.Cleanup(hs.Close)
	sim := &apptest.Sim{Server: w.front.sim, URL: hs.URL}
	a := apptest.New(t, apptest.Options{Threshold: w.threshold, DB: apptest.OpenDB(t, w.url), Sim: sim, Keys: keys, LoginLease: loginLease})
	w.inst = [2]*apptest.Env{a, a.Second(apptest.OpenDB(t, w.url))}
	for i, e := range w.inst {
		w.sched[i] = e.App.Rotation.NewScheduler(rotation.SchedulerOptions{Jitter: -1})
		t.Cleanup(w.sched[i].Close)
	}
	protos := []models.Protocol{models.ProtocolREST, models.ProtocolSOAP, models.ProtocolREST}
	if w.rng.IntN(2) == 0 {
		protos[2] = models.ProtocolSOAP
	}
	for i, p := range protos {
		d := &sdept{slug: fmt.Sprintf("dept%d", i), user: fmt.Sprintf("dept%d_ops_mycompanyUWS", i), proto: p}
		a.Seed(d.slug, d.user, p)
		w.depts = append(w.depts, d)
	}
	t.Logf("seed %d: threshold %d, departments %s %s %s (replay: UWSPORTAL_FAULT_SEED=%d)",
		seed, w.threshold, protos[0], protos[1], protos[2], seed)
	return w
}

func (w *world) sim() *apptest.Sim { return w.inst[0].Sim }

// password draws a password meeting both the portal's and ThingSpace's
// policy.
func (w *world) password() string {
	const alpha = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789!#$%&*+-=?@^_~"
	for {
		b := []byte("Zq7!")
		for range 14 {
			b = append(b, alpha[w.rng.IntN(len(alpha))])
		}
		p := string(b)
		if models.ValidatePassword(p) == nil && tsim.CheckPassword(p) == nil {
			return p
		}
	}
}

// logf records a line of the current step.
func (w *world) logf(format string, args ...any) {
	w.log = append(w.log, fmt.Sprintf(format, args...))
}

// fail reports an invariant violation with the seed and the steps so far.
func (w *world) fail(format string, args ...any) {
	w.t.Helper()
	n := len(w.log)
	from := max(0, n-60)
	w.t.Fatalf("INVARIANT VIOLATED (seed %d, replay with UWSPORTAL_FAULT_SEED=%d): %s\nthreshold %d; last %d of %d log lines:\n%s",
		w.seed, w.seed, fmt.Sprintf(format, args...), w.threshold, n-from, n, strings.Join(w.log[from:], "\n"))
}

// interesting reports whether r is a login or a reset, REST or SOAP: the
// upstream calls a cancel or a kill is timed on.
func interesting(r *http.Request) (string, bool) {
	switch {
	case strings.HasSuffix(r.URL.Path, "/session/login"):
		return "login", true
	case strings.HasSuffix(r.URL.Path, "/password/actions/reset"):
		return "reset", true
	case strings.HasSuffix(r.URL.Path, "SessionService.svc"):
		a := r.Header.Get("SOAPAction")
		switch {
		case strings.Contains(a, "/LogIn"):
			return "login", true
		case strings.Contains(a, "/GetNewPassword"):
			return "reset", true
		}
	}
	return "", false
}

// onNth runs fn (once) when the nth interesting request arrives, before
// the simulator handles it; the request then goes on as sent.
func (w *world) onNth(n int, fn func(kind string)) {
	f := w.front
	f.mu.Lock()
	w.hits = 0
	f.mu.Unlock()
	f.setHook(func(r *http.Request) {
		kind, ok := interesting(r)
		if !ok {
			return
		}
		f.mu.Lock()
		w.hits++
		fire := w.hits == n
		f.mu.Unlock()
		if fire {
			fn(kind)
		}
	})
}

// expireLeases lets time pass beyond every login lease (the guard judges
// leases by the database's clock): a dead or cancelled caller's attempt
// is then counted as the guard counts orphans.
func (w *world) expireLeases() {
	w.t.Helper()
	if _, err := w.inst[0].DB.Pool.Exec(context.Background(),
		"UPDATE upstream_accounts SET lease_until = now() - interval '1 second' WHERE lease_until IS NOT NULL"); err != nil {
		w.t.Fatal(err)
	}
	w.inst[0].Clock.Advance(loginLease)
}
