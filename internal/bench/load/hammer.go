package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// target is one endpoint under load: how worker w builds its next request
// and which statuses are a success.
type target struct {
	name, method, path string
	request            func(ctx context.Context, w int) (*http.Request, error)
	ok                 func(status int) bool
}

// only200 is a page's success.
func only200(s int) bool { return s == http.StatusOK }

// hammer runs conns workers, each on its own keep-alive connection,
// sending t's request until the duration is up, while it samples the
// portal's database connections and resident memory, and reads where the
// CPU went. A request in flight at the end is allowed to finish and
// counts.
//
// With rate 0 each worker sends its next request when the answer has
// come (a closed loop: capacity). Otherwise the workers together offer
// rate requests a second: worker w sends its k-th at start +
// (k·conns + w)/rate, or at once when it is late. A request's latency
// counts from when it was due, so in a paced run the time spent behind a
// slow answer is not hidden.
func hammer(ctx context.Context, t target, conns int, d time.Duration, rate float64, dbURL string, pid int) (Endpoint, error) {
	tr := &http.Transport{
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns,
		IdleConnTimeout: time.Minute, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	ep := Endpoint{Name: t.name, Method: t.method, Path: t.path, Conns: conns, Offered: rate, Statuses: map[int]int64{}}
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr atomic.Value

	stop := watch(ctx, dbURL, pid)
	cpu := readCPU(pid)
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := range conns {
		wg.Go(func() {
			mine := make([]time.Duration, 0, 4096)
			statuses := map[int]int64{}
			var transport int64
			for k := 0; ctx.Err() == nil; k++ {
				due := time.Now()
				if rate > 0 { // connection w's k-th turn at the rate offered
					due = start.Add(time.Duration(float64(k*conns+w) / rate * float64(time.Second)))
				}
				if !due.Before(deadline) {
					break
				}
				req, err := t.request(ctx, w)
				if err != nil {
					firstErr.CompareAndSwap(nil, err.Error())
					transport++
					break
				}
				time.Sleep(time.Until(due))
				res, err := send(client, req)
				mine = append(mine, time.Since(due))
				switch {
				case err != nil:
					transport++
					firstErr.CompareAndSwap(nil, err.Error())
				case !t.ok(res.StatusCode):
					statuses[res.StatusCode]++
					firstErr.CompareAndSwap(nil, fmt.Sprintf("status %d (request ID %s)", res.StatusCode, res.Header.Get("X-Request-Id")))
				}
			}
			mu.Lock()
			defer mu.Unlock()
			lat = append(lat, mine...)
			for k, v := range statuses {
				ep.Statuses[k] += v
				ep.Errors += v
			}
			ep.TransportErrors += transport
			ep.Errors += transport
		})
	}
	wg.Wait()
	ep.Elapsed = time.Since(start)
	ep.CPU = readCPU(pid).since(cpu)
	ep.PeakDBConns, ep.PeakRSS = stop()
	if v, ok := firstErr.Load().(string); ok {
		ep.FirstError = v
	}
	ep.Requests = int64(len(lat))
	if len(lat) == 0 {
		return ep, errors.New("no request completed")
	}
	slices.Sort(lat)
	ep.P50, ep.P95, ep.P99, ep.Max = lat[len(lat)*50/100], lat[len(lat)*95/100], lat[len(lat)*99/100], lat[len(lat)-1]
	return ep, nil
}

// send sends req and reads its answer to the end.
func send(c *http.Client, req *http.Request) (*http.Response, error) {
	res, err := c.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	return res, err
}

// watch samples, every 100 ms until the returned function is called, how
// many connections Postgres has open to the load database (from
// pg_stat_activity, the sampler's own left out) and the portal process's
// resident memory; the function returns both peaks.
func watch(ctx context.Context, dbURL string, pid int) func() (int, int64) {
	type peaks struct {
		conns int
		rss   int64
	}
	done := make(chan peaks)
	stop := make(chan struct{})
	rss := newRSSWatch(pid)
	go func() {
		peak := 0
		conn, err := pgx.Connect(ctx, dbURL)
		if err == nil {
			defer conn.Close(context.WithoutCancel(ctx))
		}
		sample := func() {
			rss.sample()
			var n int
			if conn != nil && conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&n) == nil {
				peak = max(peak, n)
			}
		}
		for {
			select {
			case <-stop:
				sample()
				done <- peaks{peak, rss.peak()}
				return
			case <-time.After(100 * time.Millisecond):
				sample()
			}
		}
	}()
	return func() (int, int64) { close(stop); p := <-done; return p.conns, p.rss }
}
