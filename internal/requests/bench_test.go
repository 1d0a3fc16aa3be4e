package requests_test

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/devices"
	"github.com/uwsportal/uwsportal/internal/requests"
	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/internal/tsim"
	"github.com/uwsportal/uwsportal/models"
)

const benchWriters = 8

// benchFleet is a portal with department fleet registered as its
// account's listener, and n pending requests recorded (ids bench-0…).
func benchFleet(b *testing.B, n int) (*apptest.Env, string, string) {
	b.Helper()
	e := apptest.New(b, apptest.Options{CallbackURL: "http://127.0.0.1:1"})
	e.Seed("fleet", "fleet_uws", models.ProtocolREST)
	if err := e.App.Departments.SetAccount(ctx, e.Admin, apptest.Meta, "fleet", account); err != nil {
		b.Fatal(err)
	}
	e.Sim.SeedDevices(account, 1, 7)
	if err := e.App.Requests.Register(ctx, e.Admin, apptest.Meta, "fleet"); err != nil {
		b.Fatal(err)
	}
	ls := e.Sim.Listeners(account)
	for i := range n {
		if _, err := e.App.Requests.Record(ctx, requests.Sent{P: lead, Meta: apptest.Meta, Department: "fleet", Account: account,
			Op: models.OpSuspend, Devices: []models.DeviceID{{Kind: "mdn", ID: fmt.Sprintf("555%07d", i)}}, RequestID: fmt.Sprintf("bench-%d", i),
			Outcome: requests.Accepted}); err != nil {
			b.Fatal(err)
		}
	}
	return e, ls[0].Username, ls[0].Password
}

// parallel runs fn(i) for i in [0, n) on benchWriters goroutines and
// reports the rate.
func parallel(b *testing.B, n int, unit string, fn func(i int) error) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, benchWriters)
	start := time.Now()
	b.ResetTimer()
	for range benchWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				if err := fn(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), unit)
}

// BenchmarkCallbacksRecorded is the listener's work for one callback
// (credentials checked, outcome and its audit event committed), 8 at once.
func BenchmarkCallbacksRecorded(b *testing.B) {
	e, user, pw := benchFleet(b, b.N)
	bodies := make([][]byte, b.N)
	for i := range bodies {
		bodies[i] = message(b, requests.Message{Username: user, Password: pw, RequestID: fmt.Sprintf("bench-%d", i),
			DeviceIDs: []models.DeviceID{{Kind: "mdn", ID: fmt.Sprintf("555%07d", i)}}, Status: "Success", CallbackCount: 1, MaxCallbackThreshold: 4})
	}
	parallel(b, b.N, "callbacks/s", func(i int) error {
		if ans := e.App.Requests.Callback(ctx, apptest.Meta, bodies[i]); ans.Status != http.StatusOK {
			return fmt.Errorf("callback %d: %d %s", i, ans.Status, ans.Message)
		}
		return nil
	})
}

// BenchmarkCallbacksRecordedPgx is the floor: the same writes (the
// request's update and its audit event, one transaction each) through
// pgx, without reading the body, the listener or the request first.
func BenchmarkCallbacksRecordedPgx(b *testing.B) {
	e, _, _ := benchFleet(b, b.N)
	now := time.Now()
	parallel(b, b.N, "callbacks/s", func(i int) error {
		return pgx.BeginFunc(ctx, e.DB.Pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `UPDATE device_requests SET status = 'succeeded', ended_by = 'callback', ended_at = $1, next_poll_at = NULL
				WHERE request_id = $2 AND status = 'pending'`, now, fmt.Sprintf("bench-%d", i)); err != nil {
				return err
			}
			ev := models.NewEvent(models.EvDeviceRequestSucceeded, lead, models.RequestMeta{}).With("request_id", fmt.Sprintf("bench-%d", i))
			ev.Department = "fleet"
			return e.DB.AuditPgx(ctx, tx, ev)
		})
	})
}

// BenchmarkStatusCallsPerRequest counts the status reads made per pending
// request over a day without callbacks: when ThingSpace ends it after
// 5 minutes (the goal: ≤ 10), and when it never does (polling gives up
// after a day).
func BenchmarkStatusCallsPerRequest(b *testing.B) {
	for _, c := range []struct {
		name string
		done time.Duration // 0: never
	}{{"done-after-5m", 5 * time.Minute}, {"never-done", 0}} {
		b.Run(c.name, func(b *testing.B) {
			e := apptest.New(b, apptest.Options{Poll: requests.PollOptions{PerPass: 1000, PerAccount: 1000}})
			e.Seed("fleet", "fleet_uws", models.ProtocolREST)
			if err := e.App.Departments.SetAccount(ctx, e.Admin, apptest.Meta, "fleet", account); err != nil {
				b.Fatal(err)
			}
			e.Sim.SeedDevices(account, 60, 7)
			e.Sim.SetAsync(tsim.AsyncOptions{})
			e.Sim.Hold(true)
			page, err := e.App.Devices.List(ctx, lead, apptest.Meta, "fleet", devices.Query{State: thingspace.StateActive})
			if err != nil {
				b.Fatal(err)
			}
			n := min(20, len(page.Devices))
			for _, d := range page.Devices[:n] {
				a := devices.Action{Op: models.OpSuspend, Devices: []models.DeviceID{d.Primary()}}
				if _, err := e.App.Devices.Act(ctx, lead, apptest.Meta, "fleet", a); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for elapsed := time.Duration(0); elapsed <= models.PollGiveUp+time.Hour; elapsed += 10 * time.Second {
				if c.done > 0 && elapsed >= c.done {
					e.Sim.Release()
					e.Sim.Wait()
				}
				if _, err := e.App.Requests.PollDue(ctx); err != nil {
					b.Fatal(err)
				}
				e.Clock.Advance(10 * time.Second)
			}
			b.StopTimer()
			b.ReportMetric(float64(e.Sim.StatusReads(account))/float64(n), "calls/request")
		})
	}
}
