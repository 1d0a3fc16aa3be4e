package faults

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/config"
	"github.com/uwsportal/uwsportal/internal/rotation"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/web"
)

// instance is one portal process, in this test process: the whole portal
// built through the composition root (apptest, internal/app) on a pool of
// its own behind a database proxy of its own, a door of its own to the
// simulator, its web server (pages and the gateway) and its scheduler.
// SIGKILL cuts all of them at once: the database connections (its
// advisory locks go with them), the upstream door (a request already at
// ThingSpace is handled as sent, its answer reaches nobody), the web
// server's connections. Goroutines of the dead instance may still run,
// but they can no longer reach the database or ThingSpace: a process that
// died. SIGTERM is serve's shutdown: no new requests, in-flight ones and
// rotations get the grace period, then the database is closed.
type instance struct {
	name  string // "a#1": instance a, second life
	life  int
	env   *apptest.Env
	db    *store.DB
	proxy *testdb.Proxy
	gate  *httptest.Server // its door to ThingSpace
	web   *httptest.Server
	sched *rotation.Scheduler

	ctx    context.Context // the process: cancelled when it dies
	kill   context.CancelFunc
	bg     context.Context // background work (scheduler): cancelled at SIGTERM
	bgStop context.CancelFunc

	ops      sync.WaitGroup
	mu       sync.Mutex
	draining bool // SIGTERM received: new requests are refused
	dead     bool
}

// startInstance starts instance idx in its life-th life, and resolves
// what a dead instance left, as serve does at start-up.
func (w *world) startInstance(idx, life int) *instance {
	t := w.t
	in := &instance{name: fmt.Sprintf("%c#%d", 'a'+idx, life), life: life}
	in.ctx, in.kill = context.WithCancel(context.Background())
	in.bg, in.bgStop = context.WithCancel(in.ctx)
	var dsn string
	in.proxy, dsn = testdb.NewProxy(t, w.url)
	db, err := store.Open(context.Background(), dsn, store.Options{MaxConns: 8, Now: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	in.db = db
	// Close may wait for a dead instance's goroutines: never block on it.
	t.Cleanup(func() { in.die(); go db.Close() })
	in.gate = httptest.NewUnstartedServer(in.guard(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { w.front.serve(in.name, rw, r) }), w.front.drop))
	in.gate.Config.ConnState = w.front.doors.track
	w.front.doors.listen(in.gate.Listener)
	in.gate.Start()
	t.Cleanup(in.gate.Close)
	in.env = apptest.New(t, apptest.Options{Threshold: w.threshold, DB: db, Sim: &apptest.Sim{Server: w.front.sim, URL: in.gate.URL},
		Clock: w.clock, Keys: w.keys, LoginLease: loginLease})
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"UWSPORTAL_MASTER_KEY": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "UWSPORTAL_BASE_URL": "http://127.0.0.1:1"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	in.env.App.Config = cfg
	srv, err := web.New(web.Deps{App: in.env.App, Version: "faults"})
	if err != nil {
		t.Fatal(err)
	}
	in.web = httptest.NewServer(in.guard(srv.Handler(), nil))
	t.Cleanup(in.web.Close)
	in.sched = in.env.App.Rotation.NewScheduler(rotation.SchedulerOptions{Jitter: -1})
	t.Cleanup(in.sched.Close)
	if life > 0 {
		n, err := in.env.App.Rotation.ResolveStuck(in.ctx)
		w.logf("  %s starts: resolved %d stuck rotations at start-up, err=%v", in.name, n, err)
	}
	return in
}

// guard drops the connection of any request reaching a dead process,
// after telling dropped (if set) about it.
func (in *instance) guard(h http.Handler, dropped func(*http.Request)) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		in.mu.Lock()
		dead := in.dead
		in.mu.Unlock()
		if dead {
			if dropped != nil {
				dropped(r)
			}
			dropConn(rw)
			return
		}
		h.ServeHTTP(rw, r)
	})
}

func dropConn(rw http.ResponseWriter) {
	hj, ok := rw.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if err := conn.Close(); err != nil { // the point is to close it
		panic(http.ErrAbortHandler)
	}
}

// enter admits one operation (a request, a scheduler pass); false if the
// process stops or died (the request is refused at the door).
func (in *instance) enter() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.draining || in.dead {
		return false
	}
	in.ops.Add(1)
	return true
}

func (in *instance) leave() { in.ops.Done() }

// die is SIGKILL.
func (in *instance) die() {
	in.mu.Lock()
	in.dead = true
	in.mu.Unlock()
	in.proxy.Down()
	in.kill()
	for _, s := range []*httptest.Server{in.gate, in.web} {
		if s != nil { // nil when the start failed half-way
			s.CloseClientConnections()
		}
	}
}

// terminate is SIGTERM with a grace period, as serve shuts down: refuse
// new requests and stop the scheduler, let the requests in flight end,
// then the rotations in flight, then close the database. It reports
// whether the grace period ran out (the process was then cut like a
// SIGKILL: what was still running died with it).
func (in *instance) terminate(grace time.Duration) (cut bool) {
	in.mu.Lock()
	in.draining = true
	in.mu.Unlock()
	in.bgStop()
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	done := make(chan struct{})
	go func() { in.ops.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		cut = true
	}
	if in.env.App.Rotation.Wait(ctx) != nil {
		cut = true
	}
	in.die()
	return cut
}

// alive reports whether the process runs (and accepts requests).
func (in *instance) alive() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return !in.dead && !in.draining
}
