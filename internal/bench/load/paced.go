package load

import (
	"context"
	"net/http"
	"os"
	"time"
)

// pacedConns is how many connections the paced phases use: the issue's
// 100 concurrent callers.
const pacedConns = 100

// The closed loop measures capacity: on a machine whose cores the
// portal, Postgres and the load share, every path then saturates the CPU
// and a request's latency is the concurrency over the throughput. So the
// gateway is also loaded paced, by connections offering together half
// the throughput the closed loop measured, and the same list is then sent
// straight to ThingSpace (the simulator) at the same rate by as many
// connections, with no portal running: the gateway's added latency at
// that concurrency is the difference of their p95s, measured with the
// portal in a process of its own, as it runs in production.

// pacedRate is half the highest throughput the closed loop measured for
// the endpoint named name, and how many connections offer it.
func pacedRate(res Result, name string) (rate float64, conns int) {
	for _, e := range res.Endpoints {
		if e.Name == name && e.Offered == 0 {
			rate = max(rate, e.RPS()/2)
		}
	}
	return rate, min(pacedConns, maxOf(res.Conns))
}

// pacedGateway loads the gateway's list paced, on a fresh portal process.
func pacedGateway(ctx context.Context, portal func() (*portalProcess, error), t target, res Result, d time.Duration, dbURL string) (Endpoint, error) {
	rate, conns := pacedRate(res, t.name)
	p, err := portal()
	if err != nil {
		return Endpoint{}, err
	}
	defer p.stop()
	// A fresh process opens its connections and prepares its statements
	// on its first calls, whose backlog a paced run would carry: warm it
	// at the same rate first, untimed.
	warm := warmFor(d)
	if _, err := hammer(ctx, t, conns, warm, rate, dbURL, p.cmd.Process.Pid); err != nil {
		return Endpoint{}, err
	}
	e, err := hammer(ctx, t, conns, d, rate, dbURL, p.cmd.Process.Pid)
	e.Warmed = warm
	return e, err
}

// warmFor is how long a paced phase of d is warmed: a quarter of it, at
// most 5 s.
func warmFor(d time.Duration) time.Duration { return min(d/4, 5*time.Second) }

// pacedDirect sends the gateway's list straight to the simulator at the
// rate offered to the gateway (paced), each fleet's calls with a session
// of that fleet's own user, as an application holding the UWS password
// would. Those sessions are upstream logins of their own, so the run's
// logins are counted before.
func pacedDirect(ctx context.Context, s *sim, fleets []fleet, paced Endpoint, d time.Duration, dbURL string) (Endpoint, error) {
	c := &http.Client{Timeout: 30 * time.Second}
	sessions := make([]apiApp, len(fleets))
	for i, f := range fleets {
		var err error
		if sessions[i], err = startApp(ctx, c, s.url, simAppKey, simAppSecret, f.user, f.password.Reveal()); err != nil {
			return Endpoint{}, err
		}
	}
	bodies := listBodies(fleets)
	t := target{name: "the same list straight to ThingSpace (the simulator)", method: http.MethodPost, path: listPath, ok: listed,
		request: func(ctx context.Context, w int) (*http.Request, error) {
			// As the gateway's connection w does: connection w lists fleet w
			// mod the fleets (clientFleet).
			f := w % len(fleets)
			return listRequest(ctx, s.url, sessions[f], bodies[fleets[f].slug])
		}}
	e, err := hammer(ctx, t, paced.Conns, d, paced.Offered, dbURL, os.Getpid())
	e.Direct = true
	return e, err
}
