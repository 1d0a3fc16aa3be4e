package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/gateway"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/internal/testutil"
	"github.com/uwsportal/uwsportal/internal/tsim"
	"github.com/uwsportal/uwsportal/models"
)

// loginLease is the guard's lease in the schedule: longer than any login
// the faults allow (latency stays far below the 5 s HTTP timeout).
const loginLease = 3 * time.Second

// sdept is one department of the schedule and what the test knows of it.
type sdept struct {
	slug, user, account string
	proto               models.Protocol
	devices             []models.DeviceID // some of its devices, for actions
	client              gateway.Created   // its API client

	// personMismatch: a person made the stored password and ThingSpace's
	// differ (invariant 2a).
	personMismatch bool
	// mayBeLost: a reset was applied whose answer the portal could not
	// read whole, or whose reader was killed, since the last entry
	// (invariant 2b).
	mayBeLost bool
	// auto: failed logins ThingSpace saw from automatic paths since the
	// last reset point (invariant 1).
	auto int
	// unaudited: logins in flight in an instance killed (or cut from its
	// database), which can leave no event (invariant 4).
	unaudited int
	// uncertain: logins whose caller cancelled them while they were on
	// the wire, or that a dying instance wrote whole to its door, which
	// dropped them unread; the portal audits each as a failure that may
	// have counted (the safe side), though ThingSpace may never have
	// finished it.
	uncertain int
}

// world is one seed's portal: two instances, one database, one simulator.
type world struct {
	t         *testing.T
	seed      uint64
	rng       *rand.Rand
	threshold int
	inst      [2]*instance
	depts     []*sdept
	url       string    // the database
	checkDB   *store.DB // the test's own pool, outside the proxies
	keys      *secret.Keyring
	clock     *testutil.Clock
	front     *front
	stats     *figures
	trace     *trace
	replaying []traceStep // the steps replayed (nil: drawn from the seed)

	mu  sync.Mutex
	log []string // the steps so far, for the failure report
}

// worldSetup is what a seed draws before its steps (kept in a replay).
type worldSetup struct {
	Seed      uint64            `json:"seed"`
	Threshold int               `json:"threshold"`
	Protocols []models.Protocol `json:"protocols"`
}

func drawSetup(seed uint64, rng *rand.Rand) worldSetup {
	s := worldSetup{Seed: seed, Threshold: 2 + rng.IntN(3),
		Protocols: []models.Protocol{models.ProtocolREST, models.ProtocolSOAP, models.ProtocolREST}}
	if rng.IntN(2) == 0 {
		s.Protocols[2] = models.ProtocolSOAP
	}
	return s
}

func newWorld(t *testing.T, setup worldSetup) *world {
	t.Helper()
	w := &world{t: t, seed: setup.Seed, threshold: setup.Threshold, url: testdb.URL(t), keys: apptest.Keyring(t),
		rng: rand.New(rand.NewPCG(setup.Seed, setup.Seed^0x5eed)), clock: testutil.ClockFor(t),
		stats: newFigures(), trace: &trace{Setup: setup}}
	drawSetup(setup.Seed, w.rng) // the same draws as the recording, so the steps follow
	w.checkDB = apptest.OpenDB(t, w.url)
	w.front = newFront(tsim.New(tsim.Options{AppKey: apptest.SimKey, AppSecret: apptest.SimSecret}))
	for i := range w.inst {
		w.inst[i] = w.startInstance(i, 0)
	}
	a := w.inst[0].env
	for i, p := range setup.Protocols {
		d := &sdept{slug: fmt.Sprintf("dept%d", i), user: fmt.Sprintf("dept%d_ops_mycompanyUWS", i), proto: p,
			account: fmt.Sprintf("0000%06d-0000%d", 100+i, i)}
		a.Seed(d.slug, d.user, p)
		w.seedDevices(d)
		w.depts = append(w.depts, d)
	}
	t.Logf("seed %d: threshold %d, departments %v (replay: UWSPORTAL_FAULT_SEED=%d)", setup.Seed, setup.Threshold, setup.Protocols, setup.Seed)
	return w
}

// seedDevices gives d an account with devices upstream, reads some of
// them back through the pages' use case, and makes d's API client.
func (w *world) seedDevices(d *sdept) {
	e := w.inst[0].env
	ctx := context.Background()
	if err := e.App.Departments.SetAccount(ctx, e.Admin, apptest.Meta, d.slug, d.account); err != nil {
		w.t.Fatal(err)
	}
	w.front.sim.SeedDevices(d.account, 12, int64(len(w.depts)+1))
	// Device operations need REST: a SOAP department's are refused before
	// anything is sent, with a device nobody has.
	d.devices = []models.DeviceID{{Kind: "mdn", ID: "2025550100"}}
	if d.proto == models.ProtocolREST {
		page, err := e.App.Devices.List(ctx, e.Admin, apptest.Meta, d.slug, devicesQuery())
		if err != nil {
			w.t.Fatalf("list %s's devices: %v", d.slug, err)
		}
		d.devices = nil
		for _, dev := range page.Devices {
			if mdn := dev.ID("mdn"); mdn != "" && len(d.devices) < 4 {
				d.devices = append(d.devices, models.DeviceID{Kind: "mdn", ID: mdn})
			}
		}
		if len(d.devices) == 0 {
			w.t.Fatalf("%s has no device with an MDN", d.slug)
		}
	}
	var err error
	d.client, err = e.App.Gateway.Create(ctx, e.Admin, apptest.Meta, d.slug, gateway.CreateInput{Name: "app " + d.slug,
		Owner: "Olive Owner <olive@example.com>", Operations: []models.Operation{models.OpList, models.OpSuspend, models.OpRestore}})
	if err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) sim() *tsim.Server { return w.front.sim }

// upUser is the simulator's view of user.
func (w *world) upUser(user string) tsim.Counters {
	w.t.Helper()
	c, ok := w.sim().User(user)
	if !ok {
		w.t.Fatalf("simulator has no user %s", user)
	}
	return c
}

// password draws a password meeting both the portal's and ThingSpace's
// policy.
func password(rng *rand.Rand) string {
	const alpha = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789!#$%&*+-=?@^_~"
	for {
		b := []byte("Zq7!")
		for range 14 {
			b = append(b, alpha[rng.IntN(len(alpha))])
		}
		p := string(b)
		if models.ValidatePassword(p) == nil && tsim.CheckPassword(p) == nil {
			return p
		}
	}
}

// logf records a line of the current step (workers log concurrently).
func (w *world) logf(format string, args ...any) {
	w.mu.Lock()
	w.log = append(w.log, fmt.Sprintf(format, args...))
	w.mu.Unlock()
}

// fail reports an invariant violation with the seed, the replay file and
// the steps so far.
func (w *world) fail(format string, args ...any) {
	w.t.Helper()
	w.mu.Lock()
	n := len(w.log)
	from := max(0, n-80)
	lines := strings.Join(w.log[from:], "\n")
	w.mu.Unlock()
	w.t.Fatalf("INVARIANT VIOLATED (seed %d): %s\nreplay the interleaving: UWSPORTAL_FAULT_REPLAY=%s (or the seed: UWSPORTAL_FAULT_SEED=%d)\nthreshold %d; last %d of %d log lines:\n%s",
		w.seed, fmt.Sprintf(format, args...), w.writeTrace(), w.seed, w.threshold, n-from, n, lines)
}

// expireLeases lets time pass beyond every login lease (the guard judges
// leases by the database's clock): a dead caller's attempt is then
// counted as the guard counts orphans.
func (w *world) expireLeases() {
	w.t.Helper()
	ctx, cancel := checkCtx()
	defer cancel()
	if _, err := w.checkDB.Pool.Exec(ctx,
		"UPDATE upstream_accounts SET lease_until = now() - interval '1 second' WHERE lease_until IS NOT NULL"); err != nil {
		w.t.Fatal(err)
	}
	w.clock.Advance(loginLease)
}

// checkCtx bounds one invariant query.
func checkCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}
