package rotation

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

// SchedulerOptions tune a Scheduler; zero values take the defaults.
type SchedulerOptions struct {
	// Interval between passes (default one minute).
	Interval time.Duration
	// Jitter spreads due times over this window, per credential, so that
	// departments created together do not all rotate in the same pass
	// (0: one hour; negative: none).
	Jitter time.Duration
	// BackoffBase is the wait after a failed scheduled rotation; it
	// doubles with each further failure up to BackoffMax (defaults 15
	// minutes and one day).
	BackoffBase, BackoffMax time.Duration
}

// Scheduler rotates credentials that reached their maximum age. Every
// instance runs one; only the leader, the holder of a session-level
// Postgres advisory lock on a connection of its own, works. Losing that
// connection loses leadership, and another instance takes over.
type Scheduler struct {
	e    *Engine
	opts SchedulerOptions

	mu   sync.Mutex
	lock *store.Lock // the leader's lock; nil when not leading
}

// NewScheduler returns a scheduler over the engine.
func (e *Engine) NewScheduler(o SchedulerOptions) *Scheduler {
	if o.Interval <= 0 {
		o.Interval = time.Minute
	}
	if o.Jitter < 0 {
		o.Jitter = 0
	} else if o.Jitter == 0 {
		o.Jitter = time.Hour
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = 15 * time.Minute
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 24 * time.Hour
	}
	return &Scheduler{e: e, opts: o}
}

// PassResult says what one pass did.
type PassResult struct {
	Leader   bool
	Resolved int // stuck rotations resolved
	Due      int
	Rotated  int
	Failed   int // rotations that ended without a new password (backed off)
	Skipped  int // could not start (conflict, guard)
}

// Run makes a pass every Interval until ctx ends, then gives up leadership.
// A rotation a pass started runs to its end even after ctx ends.
func (sc *Scheduler) Run(ctx context.Context) error {
	defer sc.Close()
	t := time.NewTicker(sc.opts.Interval)
	defer t.Stop()
	for {
		if _, err := sc.Pass(ctx); err != nil && ctx.Err() == nil {
			sc.e.log.Error("scheduler pass", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Pass makes one pass: if this instance leads, resolve stuck rotations and
// rotate every due credential the lockout guard would let log in.
func (sc *Scheduler) Pass(ctx context.Context) (PassResult, error) {
	var res PassResult
	leader, err := sc.lead(ctx)
	if err != nil {
		sc.count("error")
		return res, fmt.Errorf("scheduler leadership: %w", err)
	}
	if !leader {
		sc.count("follower")
		return res, nil
	}
	res.Leader = true
	e := sc.e
	var errs []error
	if res.Resolved, err = e.ResolveStuck(ctx); err != nil {
		errs = append(errs, err)
	}
	jitter := sc.opts.Jitter
	if jitter < time.Second {
		jitter = 0
	}
	due, err := e.db.DueCredentials(ctx, e.now(), jitter)
	if err != nil {
		sc.count("error")
		return res, errors.Join(append(errs, err)...)
	}
	for _, row := range due {
		if e.up.Rule().Refusal(row.CredState(), row.ConsecutiveFailures, row.FailuresSinceSuccess, false) != nil {
			continue
		}
		res.Due++
		if ctx.Err() != nil {
			break
		}
		if err := sc.rotate(ctx, row, &res); err != nil {
			errs = append(errs, err)
		}
	}
	e.up.RefreshQuarantined(ctx)
	e.refreshAges(ctx)
	if len(errs) > 0 {
		sc.count("error")
		return res, errors.Join(errs...)
	}
	sc.count("leader")
	return res, nil
}

// rotate rotates one due credential, detached from the pass's
// cancellation, and backs its schedule off if no new password came of it.
func (sc *Scheduler) rotate(ctx context.Context, row store.CredentialRow, res *PassResult) error {
	e := sc.e
	out, err := e.rotate(context.WithoutCancel(ctx), models.SystemPrincipal("scheduler"), models.RequestMeta{RequestID: "scheduler"}, row.Slug, models.TriggerScheduled, 0)
	switch {
	case err != nil:
		res.Skipped++
		if _, domain := models.SafeMessage(err); !domain {
			return fmt.Errorf("rotate %s: %w", row.Slug, err)
		}
		return nil
	case out.Rotated():
		res.Rotated++
		return nil
	}
	res.Failed++
	failures := row.ScheduleFailures + 1
	next := e.now().Add(sc.backoff(failures))
	e.log.Warn("scheduled rotation failed; backing off", "department", row.Slug, "result", out.Result,
		"failures", failures, "next_attempt", next)
	ev := models.NewEvent(models.EvRotateBackedOff, models.SystemPrincipal("scheduler"), models.RequestMeta{RequestID: "scheduler"}).
		With("result", out.Result, "failures", failures, "next_attempt", next.UTC().Format(time.RFC3339))
	ev.Department, ev.Target, ev.Outcome = row.Slug, "credential:"+row.Slug, models.OutcomeFailure
	return e.db.BackOffSchedule(context.WithoutCancel(ctx), row.ID, failures, next, ev)
}

// backoff is BackoffBase × 2^(failures−1), capped, with ±20 % jitter.
func (sc *Scheduler) backoff(failures int) time.Duration {
	d := sc.opts.BackoffBase
	for i := 1; i < failures && d < sc.opts.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, sc.opts.BackoffMax)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// lead reports whether this scheduler leads, taking the lock if it is free
// and checking that the connection holding it is still alive.
func (sc *Scheduler) lead(ctx context.Context) (bool, error) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.lock != nil {
		if sc.lock.Alive(ctx) {
			return true, nil
		}
		sc.e.log.Warn("scheduler: lost the leader's database connection, and with it leadership")
		sc.lock.Unlock()
		sc.lock = nil
	}
	l, err := sc.e.db.TryLead(ctx)
	if err != nil || l == nil {
		return false, err
	}
	sc.lock = l
	sc.e.log.Info("scheduler: this instance leads")
	return true, nil
}

// Close gives up leadership.
func (sc *Scheduler) Close() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.lock.Unlock()
	sc.lock = nil
}

// Leader reports whether this scheduler held the lock at its last pass.
func (sc *Scheduler) Leader() bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.lock != nil
}

func (sc *Scheduler) count(result string) {
	if sc.e.metrics != nil {
		sc.e.metrics.SchedulerRuns.WithLabelValues(result).Inc()
	}
}

func (e *Engine) refreshAges(ctx context.Context) {
	if e.metrics == nil {
		return
	}
	rows, err := e.db.CredentialsOf(ctx, nil)
	if err != nil {
		return
	}
	oldest := 0.0
	for _, r := range rows {
		age := e.now().Sub(r.PasswordChangedAt).Seconds()
		e.metrics.CredentialAge.WithLabelValues(r.Slug).Set(age)
		oldest = max(oldest, age)
	}
	e.metrics.CredentialAgeMax.Set(oldest)
}
