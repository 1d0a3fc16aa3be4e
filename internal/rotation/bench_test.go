package rotation_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/app"
	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/rotation"
	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/models"
)

// BenchmarkRotation measures what the portal adds to one rotation over the
// raw upstream round trips (reset with a live session, login with the new
// password, logout) made with the bare backend against the same simulator
// on loopback. Each iteration does both, so the pairs see the same load.
func BenchmarkRotation(b *testing.B) {
	app.TuneGC(os.Getenv) // as serve runs
	e := apptest.New(b, apptest.Options{})
	e.Seed("fleet", "fleet_uws", models.ProtocolREST)
	ctx := context.Background()
	raw := e.Sim.Backends(b)[models.ProtocolREST]
	e.Sim.SetUser("raw_uws", apptest.GoodPW)
	rawPW := apptest.GoodPW
	session, err := raw.Login(ctx, "raw_uws", rawPW)
	if err != nil {
		b.Fatal(err)
	}
	// Warm up: the first rotation logs in for the session it then caches.
	if res, err := e.App.Rotation.Rotate(ctx, e.Admin, apptest.Meta, "fleet", ""); err != nil || !res.Rotated() {
		b.Fatalf("%+v %v", res, err)
	}
	var total, bare, added []time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		res, err := e.App.Rotation.Rotate(ctx, e.Admin, apptest.Meta, "fleet", "")
		t1 := time.Now()
		if err != nil || !res.Rotated() {
			b.Fatalf("%+v %v", res, err)
		}
		rr := raw.ResetPassword(ctx, session, rawPW)
		if rr.Outcome != thingspace.ResetApplied {
			b.Fatal(rr.Err)
		}
		rawPW = rr.NewPassword.Reveal()
		tok, err := raw.Login(ctx, "raw_uws", rawPW)
		if err != nil {
			b.Fatal(err)
		}
		if err := raw.Logout(ctx, tok); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		total, bare, added = append(total, t1.Sub(t0)), append(bare, t2.Sub(t1)), append(added, t1.Sub(t0)-t2.Sub(t1))
	}
	b.StopTimer()
	report(b, "total", total)
	report(b, "bare", bare)
	report(b, "added", added)
}

func report(b *testing.B, name string, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	pct := func(p float64) float64 { return float64(d[int(p*float64(len(d)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(pct(0.50), name+"-p50-ms")
	b.ReportMetric(pct(0.95), name+"-p95-ms")
}

// BenchmarkSchedulerPass100 is one scheduler pass over 100 due credentials.
func BenchmarkSchedulerPass100(b *testing.B) {
	e := apptest.New(b, apptest.Options{})
	ctx := context.Background()
	for i := range 100 {
		e.Seed(fmt.Sprintf("d%03d", i), fmt.Sprintf("user%03d_uws", i), models.ProtocolREST)
	}
	sc := e.App.Rotation.NewScheduler(rotation.SchedulerOptions{Jitter: -1})
	defer sc.Close()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		if _, err := e.DB.Pool.Exec(ctx, "UPDATE credentials SET password_changed_at = $1", e.Clock.Now().Add(-100*24*time.Hour)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		r, err := sc.Pass(ctx)
		if err != nil || r.Rotated != 100 {
			b.Fatalf("%+v %v", r, err)
		}
	}
}
