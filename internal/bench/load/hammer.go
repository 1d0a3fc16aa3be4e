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

// hammer runs conns workers, each on its own keep-alive connection, sending
// GET path until the duration is up. A request in flight at the end is
// allowed to finish and counts.
func hammer(ctx context.Context, base, path string, cookie *http.Cookie, conns int, d time.Duration, dbURL string) (Endpoint, error) {
	tr := &http.Transport{
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns,
		IdleConnTimeout: time.Minute, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	ep := Endpoint{Path: path, Statuses: map[int]int64{}}
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr atomic.Value

	peak := watchDBConns(ctx, dbURL)
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, 4096)
			statuses := map[int]int64{}
			var transport int64
			for time.Now().Before(deadline) && ctx.Err() == nil {
				req, _ := http.NewRequest(http.MethodGet, base+path, nil)
				req.AddCookie(cookie)
				// As a browser would; set by hand, the body stays compressed
				// and the generator spends no CPU inflating it.
				req.Header.Set("Accept-Encoding", "gzip")
				t0 := time.Now()
				res, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
				mine = append(mine, time.Since(t0))
				switch {
				case err != nil:
					transport++
					firstErr.CompareAndSwap(nil, err.Error())
				case res.StatusCode != http.StatusOK:
					statuses[res.StatusCode]++
					firstErr.CompareAndSwap(nil, fmt.Sprintf("status %d (request ID %s)", res.StatusCode, res.Header.Get("X-Request-Id")))
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			for k, v := range statuses {
				ep.Statuses[k] += v
				ep.Errors += v
			}
			ep.TransportErrors += transport
			ep.Errors += transport
			mu.Unlock()
		}()
	}
	wg.Wait()
	ep.Elapsed = time.Since(start)
	ep.PeakDBConns = peak()
	if v, ok := firstErr.Load().(string); ok {
		ep.FirstError = v
	}
	ep.Requests = int64(len(lat))
	if len(lat) == 0 {
		return ep, errors.New("no request completed")
	}
	slices.Sort(lat)
	ep.P50, ep.P99, ep.Max = lat[len(lat)*50/100], lat[len(lat)*99/100], lat[len(lat)-1]
	return ep, nil
}

// watchDBConns samples how many connections the portal holds on its
// database (pg_stat_activity, by application name) until the returned
// function is called, which gives the peak.
func watchDBConns(ctx context.Context, dbURL string) func() int {
	done := make(chan int)
	stop := make(chan struct{})
	go func() {
		peak := 0
		conn, err := pgx.Connect(ctx, dbURL)
		if err == nil {
			defer conn.Close(context.WithoutCancel(ctx))
		}
		for {
			select {
			case <-stop:
				done <- peak
				return
			case <-time.After(200 * time.Millisecond):
			}
			if conn == nil {
				continue
			}
			var n int
			if conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'uwsportal'`).Scan(&n) == nil {
				peak = max(peak, n)
			}
		}
	}()
	return func() int { close(stop); return <-done }
}
