package gateway_test

import (
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/app"
	"github.com/uwsportal/uwsportal/internal/gateway"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/models"
)

var unlimited = gateway.Limits{Burst: 1e9, PerSecond: 1e9, MaxConcurrent: 1000, DepartmentPerSecond: 1e9}

// warmCalls are made on each path before a latency benchmark times any.
const warmCalls = 50

func p95(d []time.Duration) time.Duration { return quantile(d, 0.95) }

func quantile(d []time.Duration, q float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(float64(len(s))*q)]
}

// BenchmarkGatewayAddedLatency: one list call of 10 devices through the
// gateway (token, handle, client, scopes, account, rate limit, audit,
// then ThingSpace through the shared session) against the same call made
// directly with the portal's ThingSpace client to the simulator. It
// reports both p95 and the difference (added-p95), and the difference of
// the medians (added-p50). db-floor-p95-ms is the least database work of
// an audited call (a read, then a durable commit, through pgx) made around
// a third, direct call after each pair, at the gateway's pace.
func BenchmarkGatewayAddedLatency(b *testing.B) {
	app.TuneGC(os.Getenv) // as serve runs
	p := newPortal(b, unlimited)
	app := p.app(b, p.client(b, "fleet", models.OpList)).start()
	c, err := p.App.Upstream.Client(models.ProtocolREST)
	if err != nil {
		b.Fatal(err)
	}
	cred := p.CredOf("fleet")
	req := thingspace.ListDevicesRequest{AccountName: account, MaxNumberOfDevices: 10}
	call := func() time.Duration {
		start := time.Now()
		if _, err := c.ListDevices(ctx, cred, req); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	// The floor of the gateway's own database work: a read before a
	// direct call and a durable commit after it, through pgx, after each
	// pair, so at the same pace.
	floor := testdb.NewRoundTripFloor(b, p.DB)
	// Warm both paths (connections, prepared statements, the shared
	// session) before anything is timed.
	for range warmCalls {
		app.list(account)
		floor.Around(b, func() { call() })
	}
	var via, direct, trips []time.Duration
	for b.Loop() {
		start := time.Now()
		if a := app.list(account); a.Status != http.StatusOK && a.Status != http.StatusAccepted {
			b.Fatalf("gateway list: %d %s", a.Status, a.Body)
		}
		via = append(via, time.Since(start))
		direct = append(direct, call())
		trips = append(trips, floor.Around(b, func() { call() }))
	}
	b.ReportMetric(float64(p95(trips).Microseconds())/1000, "db-floor-p95-ms")
	b.ReportMetric(float64(quantile(trips, 0.5).Microseconds())/1000, "db-floor-p50-ms")
	b.ReportMetric(float64(p95(via).Microseconds())/1000, "gateway-p95-ms")
	b.ReportMetric(float64(p95(direct).Microseconds())/1000, "direct-p95-ms")
	b.ReportMetric(float64((p95(via)-p95(direct)).Microseconds())/1000, "added-p95-ms")
	// The median is steadier than the p95 on a busy machine.
	b.ReportMetric(float64((quantile(via, 0.5)-quantile(direct, 0.5)).Microseconds())/1000, "added-p50-ms")
}

// BenchmarkGatewayLoginsPer1000Calls: ten API clients of one department
// make 1,000 list calls between them, concurrently; the department's
// session is shared, so the goal is one upstream login in all.
func BenchmarkGatewayLoginsPer1000Calls(b *testing.B) {
	p := newPortal(b, unlimited)
	apps := make([]*vz, 10)
	for i := range apps {
		apps[i] = p.app(b, p.client(b, "fleet", models.OpList)).start()
	}
	var worst float64
	for b.Loop() {
		if err := p.App.Upstream.Sessions().Drop(ctx, "fleet_uws", ""); err != nil {
			b.Fatal(err)
		}
		before := p.Sim.User(b, "fleet_uws").LoginsOK
		var wg sync.WaitGroup
		var mu sync.Mutex
		bad := 0
		for _, app := range apps {
			wg.Go(func() {
				for range 100 {
					if a := app.list(account); a.Status != http.StatusOK && a.Status != http.StatusAccepted {
						mu.Lock()
						bad++
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		if bad > 0 {
			b.Fatalf("%d calls failed", bad)
		}
		worst = max(worst, float64(p.Sim.User(b, "fleet_uws").LoginsOK-before))
	}
	b.ReportMetric(worst, "logins/1000calls")
}
