package service

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

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
	s    *Service
	opts SchedulerOptions

	mu   sync.Mutex
	conn *pgx.Conn // holds the leader lock; nil when not leading
}

// schedulerLockSpace, schedulerLock: the advisory lock of the leader
// (apart from the session locks' space).
const (
	schedulerLockSpace = 0x75777371
	schedulerLock      = 1
)

// NewScheduler returns a scheduler over s.
func (s *Service) NewScheduler(o SchedulerOptions) *Scheduler {
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
	return &Scheduler{s: s, opts: o}
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
func (sc *Scheduler) Run(ctx context.Context) error {
	defer sc.Close()
	t := time.NewTicker(sc.opts.Interval)
	defer t.Stop()
	for {
		if _, err := sc.Pass(ctx); err != nil && ctx.Err() == nil {
			sc.s.Log.Error("scheduler pass", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Pass makes one pass: if this instance leads, resolve stuck rotations and
// rotate every due credential.
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
	s := sc.s
	u, err := s.upstream()
	if err != nil {
		sc.count("error")
		return res, err
	}
	var errs []error
	if res.Resolved, err = s.ResolveStuck(ctx); err != nil {
		errs = append(errs, err)
	}
	now := s.Now()
	jitter := sc.opts.Jitter
	if jitter < time.Second {
		jitter = 0
	}
	due, err := s.DB.DueCredentials(ctx, now, jitter, u.Threshold())
	if err != nil {
		sc.count("error")
		return res, errors.Join(append(errs, err)...)
	}
	res.Due = len(due)
	sys := systemPrincipal("scheduler")
	for _, row := range due {
		if ctx.Err() != nil {
			break
		}
		out, err := s.rotate(ctx, sys, models.RequestMeta{RequestID: "scheduler"}, row.Slug, models.TriggerScheduled)
		switch {
		case err != nil:
			res.Skipped++
			if _, domain := models.SafeMessage(err); !domain {
				errs = append(errs, fmt.Errorf("rotate %s: %w", row.Slug, err))
			}
			continue
		case out.Rotated():
			res.Rotated++
			continue
		}
		res.Failed++
		failures := row.ScheduleFailures + 1
		next := s.Now().Add(sc.backoff(failures))
		if _, err := s.DB.UpdateCredential(ctx, nil, row.ID, map[string]any{"schedule_failures": failures, "next_attempt_at": next}, ""); err != nil {
			errs = append(errs, err)
		}
		s.Log.Warn("scheduled rotation failed; backing off", "department", row.Slug, "result", out.Result,
			"failures", failures, "next_attempt", next)
	}
	s.refreshQuarantined(ctx)
	s.refreshAges(ctx)
	if len(errs) > 0 {
		sc.count("error")
		return res, errors.Join(errs...)
	}
	sc.count("leader")
	return res, nil
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
	if sc.conn != nil {
		if err := sc.conn.Ping(ctx); err == nil {
			return true, nil
		}
		sc.s.Log.Warn("scheduler: lost the leader's database connection, and with it leadership")
		sc.conn.Close(context.Background())
		sc.conn = nil
	}
	pc, err := sc.s.DB.Pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	var got bool
	if err := pc.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, $2)", int32(schedulerLockSpace), int32(schedulerLock)).Scan(&got); err != nil {
		pc.Release()
		return false, err
	}
	if !got {
		pc.Release()
		return false, nil
	}
	// Out of the pool: the lock lives as long as this connection.
	sc.conn = pc.Hijack()
	sc.s.Log.Info("scheduler: this instance leads")
	return true, nil
}

// Close gives up leadership.
func (sc *Scheduler) Close() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.conn != nil {
		sc.conn.Close(context.Background())
		sc.conn = nil
	}
}

// Leader reports whether this scheduler held the lock at its last pass.
func (sc *Scheduler) Leader() bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.conn != nil
}

func (sc *Scheduler) count(result string) {
	if sc.s.Metrics != nil {
		sc.s.Metrics.SchedulerRuns.WithLabelValues(result).Inc()
	}
}

func (s *Service) refreshAges(ctx context.Context) {
	if s.Metrics == nil {
		return
	}
	rows, err := s.DB.CredentialsOf(ctx, nil)
	if err != nil {
		return
	}
	oldest := 0.0
	for _, r := range rows {
		age := s.Now().Sub(r.PasswordChangedAt).Seconds()
		s.Metrics.CredentialAge.WithLabelValues(r.Slug).Set(age)
		oldest = max(oldest, age)
	}
	s.Metrics.CredentialAgeMax.Set(oldest)
}
