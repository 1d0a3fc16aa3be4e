package devices_test

import (
	"sync"
	"testing"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/devices"
	"github.com/uwsportal/uwsportal/internal/testdb"
)

// BenchmarkLoginsPer1000Operations: two portal instances on one database
// make 1,000 device operations from 20 workers, with the upstream session
// expiring once in the middle; it reports the upstream logins they made
// (the goal is one per session: 2 here, 1 without the expiry).
func BenchmarkLoginsPer1000Operations(b *testing.B) {
	url := testdb.URL(b)
	a := apptest.New(b, apptest.Options{DB: apptest.OpenDB(b, url)})
	a.Seed("fleet", "fleet_uws", "rest")
	if err := a.App.Departments.SetAccount(ctx, a.Admin, apptest.Meta, "fleet", account); err != nil {
		b.Fatal(err)
	}
	a.Sim.SeedDevices(account, 100, 1)
	second := a.Second(apptest.OpenDB(b, url))
	var logins []float64
	for b.Loop() {
		before := a.Sim.User(b, "fleet_uws").LoginsOK
		var wg sync.WaitGroup
		var mu sync.Mutex
		var firstErr error
		for w := range 20 {
			e := a
			if w%2 == 1 {
				e = second
			}
			wg.Go(func() {
				for i := range 50 {
					if w == 0 && i == 25 {
						a.Sim.ExpireSessions()
					}
					if _, err := e.App.Devices.List(ctx, member, apptest.Meta, "fleet", devices.Query{}); err != nil {
						mu.Lock()
						firstErr = err
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		if firstErr != nil {
			b.Fatal(firstErr)
		}
		logins = append(logins, float64(a.Sim.User(b, "fleet_uws").LoginsOK-before))
	}
	worst := 0.0
	for _, n := range logins {
		worst = max(worst, n)
	}
	b.ReportMetric(worst, "logins/1000ops")
}
