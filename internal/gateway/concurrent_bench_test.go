package gateway_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/app"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/internal/testutil"
	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/models"
)

// Concurrent callers and how long each half of BenchmarkGatewayConcurrent
// runs (UWSPORTAL_BENCH_CONCURRENT, a Go duration, shortens it while
// developing).
const (
	concurrentCallers  = 100
	concurrentDuration = 30 * time.Second
)

func concurrentFor(b *testing.B) time.Duration {
	v := os.Getenv("UWSPORTAL_BENCH_CONCURRENT")
	if v == "" {
		return concurrentDuration
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		b.Fatalf("UWSPORTAL_BENCH_CONCURRENT=%q is not a duration", v)
	}
	return d
}

// run is what one half of the benchmark saw.
type run struct {
	lat    []time.Duration
	errors int64
	took   time.Duration
}

// hammer runs call from n goroutines for d and gathers their latencies.
func hammer(n int, d time.Duration, call func(i int) error) run {
	var mu sync.Mutex
	var out run
	var errs atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(d)
	for i := range n {
		wg.Go(func() {
			var lat []time.Duration
			for time.Now().Before(end) {
				t0 := time.Now()
				if err := call(i); err != nil {
					errs.Add(1)
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			out.lat = append(out.lat, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	out.took, out.errors = time.Since(start), errs.Load()
	slices.Sort(out.lat)
	return out
}

// pace runs call from n goroutines for d, offering perSecond calls in
// all: goroutine i sends its k-th call at start + (k·n + i)/perSecond,
// or at once when it is late. A call's latency counts from the moment it
// was due, so time spent waiting behind a slow call is not hidden (the
// coordinated omission of a closed loop).
func pace(n int, d time.Duration, perSecond float64, call func(i int) error) run {
	var mu sync.Mutex
	var out run
	var errs atomic.Int64
	var wg sync.WaitGroup
	gap := time.Duration(float64(time.Second) / perSecond)
	start := time.Now()
	end := start.Add(d)
	for i := range n {
		wg.Go(func() {
			var lat []time.Duration
			for k := 0; ; k++ {
				due := start.Add(time.Duration(k*n+i) * gap)
				if !due.Before(end) {
					break
				}
				time.Sleep(time.Until(due))
				if err := call(i); err != nil {
					errs.Add(1)
					continue
				}
				lat = append(lat, time.Since(due))
			}
			mu.Lock()
			out.lat = append(out.lat, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	out.took, out.errors = time.Since(start), errs.Load()
	slices.Sort(out.lat)
	return out
}

func (r run) q(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[min(len(r.lat)-1, int(float64(len(r.lat))*p))]
}

func (r run) perSecond() float64 { return float64(len(r.lat)) / r.took.Seconds() }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkGatewayConcurrent: 100 callers (ten API clients, each caller
// with its own token and session handle) list 10 devices through the
// gateway, then 100 callers make the same call directly with the portal's
// ThingSpace client. The portal's pool is its default size.
//
// First as fast as they can for 30 s each (a closed loop): that measures
// capacity, both throughputs. On one machine shared by the callers, the
// portal, Postgres and the simulator, both paths then saturate the CPU and
// a call's latency is the concurrency over the throughput, so the added
// latency there says how much more CPU a gateway call costs, not how long
// the gateway keeps a caller waiting.
//
// Then paced for 30 s each: the 100 callers together offer half the
// gateway's measured throughput, the same rate on both paths, and each
// call's latency counts from when it was due. The added latency at 100
// concurrent callers (issue 27: at most 5 ms at p95) is the paced
// gateway's p95 less the paced direct calls' p95. Every error (any answer
// but a list, or no answer) of all four runs is counted.
func BenchmarkGatewayConcurrent(b *testing.B) {
	app.TuneGC(os.Getenv) // as serve runs
	dbURL := testdb.URL(b)
	c := testutil.ClockFor(b)
	db, err := store.Open(ctx, dbURL, store.Options{Now: c.Now}) // the default pool, as the portal runs
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(db.Close)
	testutil.BindClock(b, db, c)
	p := newPortalOn(b, unlimited, dbURL, db)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConns: concurrentCallers, MaxIdleConnsPerHost: concurrentCallers}, Timeout: 10 * time.Second}
	apps := make([]*vz, concurrentCallers)
	for i := range apps {
		if i%10 == 0 {
			apps[i] = p.app(b, p.client(b, "fleet", models.OpList)).start()
			continue
		}
		made := *apps[i-i%10]
		made.token, made.session = "", ""
		apps[i] = made.start()
	}
	up, err := p.App.Upstream.Client(models.ProtocolREST)
	if err != nil {
		b.Fatal(err)
	}
	cred := p.CredOf("fleet")
	req := thingspace.ListDevicesRequest{AccountName: account, MaxNumberOfDevices: 10}
	body := []byte(`{"accountName":"` + account + `","maxNumberOfDevices":10}`)
	// Warm: the shared session is logged in and every caller's connection
	// is open before the clock starts.
	for _, app := range apps {
		if err := listVia(hc, app, body); err != nil {
			b.Fatal(err)
		}
	}
	d := concurrentFor(b)
	gateway := func(i int) error { return listVia(hc, apps[i], body) }
	directly := func(int) error {
		_, err := up.ListDevices(ctx, cred, req)
		return err
	}
	var via, direct, pacedVia, pacedDirect run
	var rate float64
	for b.Loop() {
		via = hammer(concurrentCallers, d, gateway)
		direct = hammer(concurrentCallers, d, directly)
		rate = via.perSecond() / 2
		pacedVia = pace(concurrentCallers, d, rate, gateway)
		pacedDirect = pace(concurrentCallers, d, rate, directly)
	}
	b.ReportMetric(float64(via.errors+direct.errors+pacedVia.errors+pacedDirect.errors), "errors")
	b.ReportMetric(ms(via.q(0.50)), "gateway-p50-ms")
	b.ReportMetric(ms(via.q(0.95)), "gateway-p95-ms")
	b.ReportMetric(ms(via.q(0.99)), "gateway-p99-ms")
	b.ReportMetric(ms(direct.q(0.95)), "direct-p95-ms")
	b.ReportMetric(ms(via.q(0.95)-direct.q(0.95)), "saturated-added-p95-ms")
	b.ReportMetric(via.perSecond(), "gateway-calls/s")
	b.ReportMetric(direct.perSecond(), "direct-calls/s")
	b.ReportMetric(rate, "paced-offered-calls/s")
	b.ReportMetric(pacedVia.perSecond(), "paced-gateway-calls/s")
	b.ReportMetric(ms(pacedVia.q(0.50)), "paced-gateway-p50-ms")
	b.ReportMetric(ms(pacedVia.q(0.95)), "paced-gateway-p95-ms")
	b.ReportMetric(ms(pacedVia.q(0.99)), "paced-gateway-p99-ms")
	b.ReportMetric(ms(pacedDirect.q(0.95)), "paced-direct-p95-ms")
	b.ReportMetric(ms(pacedVia.q(0.95)-pacedDirect.q(0.95)), "added-p95-ms")
}

// errNotListed is an answer that is not a device list.
type errNotListed int

func (e errNotListed) Error() string { return "gateway answered " + http.StatusText(int(e)) }

// listVia is app's device list through the gateway, without the test's
// helpers (they fail the test, which a caller's goroutine may not do).
func listVia(hc *http.Client, app *vz, body []byte) error {
	req, err := http.NewRequest(http.MethodPost, app.base+"/api/m2m/v1/devices/actions/list", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+app.token)
	req.Header.Set("VZ-M2M-Token", app.session)
	req.Header.Set("Content-Type", "application/json")
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusAccepted {
		return errNotListed(res.StatusCode)
	}
	return nil
}
