package service

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/models"
)

// pgGuard is the lockout guard shared by every portal instance: the
// consecutive failure count lives in the credential's row, and so does a
// lease on the one login attempt in flight, so that two instances never
// log in with the same credential at once (two concurrent failures could
// otherwise both pass a count of threshold−1). A lease left by a process
// that died mid-login expires and its attempt counts as failed: it may
// have counted upstream, and erring toward quarantine is the safe side.
type pgGuard struct {
	s         *Service
	threshold int
	lease     time.Duration
}

var _ thingspace.LockoutGuard = (*pgGuard)(nil)

// hardFailureCap is the most failed logins the portal will ever have made
// since the credential's last successful login, whatever admins clear:
// ThingSpace locks at 5.
const hardFailureCap = thingspace.MaxGuardLimit

var errLeaseHeld = errors.New("another login with this credential is in flight")

type guardRow struct {
	ID                   int64
	State                string
	ConsecutiveFailures  int
	FailuresSinceSuccess int
	Leased               bool
	LeaseExpired         bool
}

const guardSelect = `SELECT c.id, c.state, c.consecutive_failures, c.failures_since_success,
       (c.login_lease_until IS NOT NULL AND c.login_lease_until > now()) AS leased,
       (c.login_lease_until IS NOT NULL AND c.login_lease_until <= now()) AS lease_expired
  FROM credentials c JOIN departments d ON d.id = c.department_id
 WHERE d.slug = ? FOR UPDATE OF c`

func (g *pgGuard) row(ctx context.Context, tx *store.Tx, key string) (guardRow, error) {
	var rows []guardRow
	if err := tx.WithContext(ctx).Raw(guardSelect, key).Scan(&rows).Error; err != nil {
		return guardRow{}, err
	}
	if len(rows) == 0 {
		return guardRow{}, fmt.Errorf("department %q has no credential: %w", key, thingspace.ErrGuardRefused)
	}
	return rows[0], nil
}

// Allow implements thingspace.LockoutGuard. It waits while another
// instance's login with the credential is in flight.
func (g *pgGuard) Allow(ctx context.Context, key string) error {
	wait := 5 * time.Millisecond
	for {
		err := g.tryAllow(ctx, key)
		if !errors.Is(err, errLeaseHeld) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the login in flight of %s: %w", key, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 250*time.Millisecond)
	}
}

func (g *pgGuard) tryAllow(ctx context.Context, key string) error {
	var refused error
	err := g.s.DB.WithTx(ctx, func(tx *store.Tx) error {
		r, err := g.row(ctx, tx, key)
		if err != nil {
			return err
		}
		if r.Leased {
			return errLeaseHeld
		}
		set := map[string]any{}
		failures, since := r.ConsecutiveFailures, r.FailuresSinceSuccess
		if r.LeaseExpired {
			failures++
			since++
			set["consecutive_failures"], set["failures_since_success"] = failures, since
			g.s.Log.Warn("lockout guard: a login attempt of a dead process is counted as failed", "department", key, "consecutive_failures", failures)
		}
		var events []*models.AuditEvent
		op := opOf(ctx)
		if r.State == string(models.StateQuarantined) || failures >= g.threshold || since >= hardFailureCap {
			set["login_lease_until"] = nil
			if r.State != string(models.StateQuarantined) {
				reason := "threshold"
				if r.LeaseExpired {
					reason = "orphaned-login"
				}
				set["state"], set["state_since"] = string(models.StateQuarantined), g.s.Now()
				events = append(events, g.quarantineEvent(op, key, failures, reason))
			}
			e := loginEvent(op, key, models.EvUpstreamLoginGuard, nil, failures)
			events = append(events, e)
			refused = fmt.Errorf("credential %q has %d consecutive failed logins (threshold %d) or is quarantined: %w",
				key, failures, g.threshold, thingspace.ErrGuardRefused)
		} else if err := tx.WithContext(ctx).Exec(
			// Judged by the database clock, which every instance shares.
			"UPDATE credentials SET login_lease_until = now() + make_interval(secs => ?) WHERE id = ?",
			g.lease.Seconds(), r.ID).Error; err != nil {
			return err
		}
		if len(set) > 0 {
			if _, err := g.s.DB.UpdateCredential(ctx, tx, r.ID, set, ""); err != nil {
				return err
			}
		}
		for _, e := range events {
			if err := g.s.DB.Audit(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if refused != nil {
		g.s.countLogin("refused")
		g.s.refreshQuarantined(ctx)
	}
	return refused
}

// Record implements thingspace.LockoutGuard.
func (g *pgGuard) Record(ctx context.Context, key string, ok bool, code string) error {
	op := opOf(ctx)
	var attemptErr error
	if a := op.claim(); a != nil {
		attemptErr = a.err
	}
	quarantined := false
	err := g.s.DB.WithTx(ctx, func(tx *store.Tx) error {
		r, err := g.row(ctx, tx, key)
		if err != nil {
			return err
		}
		set := map[string]any{"login_lease_until": nil}
		var events []*models.AuditEvent
		if ok {
			set["consecutive_failures"], set["failures_since_success"] = 0, 0
			events = append(events, loginEvent(op, key, models.EvUpstreamLoginOK, nil, 0))
		} else {
			failures := r.ConsecutiveFailures + 1
			set["consecutive_failures"], set["last_upstream_code"] = failures, clip(code, 200)
			set["failures_since_success"] = r.FailuresSinceSuccess + 1
			if attemptErr == nil {
				attemptErr = errors.New(code)
			}
			events = append(events, loginEvent(op, key, models.EvUpstreamLoginFailed, attemptErr, failures))
			if (failures >= g.threshold || r.FailuresSinceSuccess+1 >= hardFailureCap) && r.State != string(models.StateQuarantined) {
				set["state"], set["state_since"] = string(models.StateQuarantined), g.s.Now()
				events = append(events, g.quarantineEvent(op, key, failures, code))
				quarantined = true
			}
		}
		if _, err := g.s.DB.UpdateCredential(ctx, tx, r.ID, set, ""); err != nil {
			return err
		}
		for _, e := range events {
			if err := g.s.DB.Audit(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("lockout guard: record login of %s: %w", key, err)
	}
	if ok {
		g.s.countLogin("ok")
	} else {
		g.s.countLogin("failed")
	}
	if quarantined {
		g.s.Log.Warn("credential quarantined after consecutive failed logins", "department", key, "threshold", g.threshold, "upstream_code", code)
		g.s.refreshQuarantined(ctx)
	}
	return nil
}

// release ends the lease of an attempt that failed before reaching the
// login service: it did not count upstream, so it does not count here.
func (g *pgGuard) release(ctx context.Context, key string) {
	err := g.s.DB.Gorm.WithContext(ctx).Exec(`UPDATE credentials SET login_lease_until = NULL
	  WHERE department_id = (SELECT id FROM departments WHERE slug = ?)`, key).Error
	if err != nil {
		// The lease expires by itself; the attempt is then counted, which
		// errs toward stopping early.
		g.s.Log.Warn("lockout guard: release lease", "department", key, "err", err)
	}
}

func (g *pgGuard) quarantineEvent(op *upstreamOp, key string, failures int, code string) *models.AuditEvent {
	p, meta := opActor(op)
	e := models.NewEvent(models.EvQuarantined, p, meta).
		With("consecutive_failures", failures, "threshold", g.threshold, "upstream_code", code)
	e.Department, e.Target, e.Outcome = key, "credential:"+key, models.OutcomeFailure
	return e
}

func opActor(op *upstreamOp) (*models.Principal, models.RequestMeta) {
	if op == nil {
		return nil, models.RequestMeta{}
	}
	return op.p, op.meta
}

// loginEvent builds an upstream.login.* event; failures < 0 leaves the
// count out (an attempt that did not count).
func loginEvent(op *upstreamOp, key, code string, err error, failures int) *models.AuditEvent {
	p, meta := opActor(op)
	purpose, proto := PurposeUse, ""
	if op != nil {
		purpose, proto = op.purpose, string(op.protocol)
	}
	e := models.NewEvent(code, p, meta).With("purpose", purpose, "protocol", proto)
	e.Department, e.Target = key, "credential:"+key
	switch code {
	case models.EvUpstreamLoginFailed:
		e.Outcome = models.OutcomeFailure
		e.With("upstream_code", upstreamCode(err), "class", thingspace.ClassOf(err).String())
		if failures >= 0 {
			e.With("consecutive_failures", failures)
		} else {
			e.With("counted", false)
		}
	case models.EvUpstreamLoginGuard:
		e.Outcome = models.OutcomeDenied
		e.With("consecutive_failures", failures)
	}
	return e
}

// auditLogin writes an upstream.login.* event on its own.
func (s *Service) auditLogin(ctx context.Context, op *upstreamOp, key, code string, err error, failures int, _ bool) {
	s.auditAlone(ctx, loginEvent(op, key, code, err, failures))
	switch code {
	case models.EvUpstreamLoginOK:
		s.countLogin("ok")
	case models.EvUpstreamLoginFailed:
		s.countLogin("failed")
	default:
		s.countLogin("refused")
	}
}

func (s *Service) countLogin(result string) {
	if s.Metrics != nil {
		s.Metrics.UpstreamLogins.WithLabelValues(result).Inc()
	}
}

func (s *Service) refreshQuarantined(ctx context.Context) {
	if s.Metrics == nil {
		return
	}
	if n, err := s.DB.CountQuarantined(ctx); err == nil {
		s.Metrics.Quarantined.Set(float64(n))
	}
}

// probeGuard allows exactly one login: the verification of a password an
// administrator is entering, which has no credential row of its own yet
// (or replaces one whose username or state the shared guard does not
// describe). known is what the portal knows of the username's failures.
type probeGuard struct {
	s      *Service
	key    string
	known  int
	credID int64 // the row whose count this username's result updates; 0: none

	mu   sync.Mutex
	used bool
}

func (g *probeGuard) Allow(ctx context.Context, key string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.used || g.known >= thingspace.MaxGuardLimit {
		g.s.auditLogin(ctx, opOf(ctx), g.key, models.EvUpstreamLoginGuard, nil, g.known, true)
		return fmt.Errorf("verification of %q: %w", key, thingspace.ErrGuardRefused)
	}
	g.used = true
	return nil
}

func (g *probeGuard) Record(ctx context.Context, key string, ok bool, code string) error {
	op := opOf(ctx)
	var attemptErr error
	if a := op.claim(); a != nil {
		attemptErr = a.err
	}
	failures := 0
	if !ok {
		failures = g.known + 1
		if attemptErr == nil {
			attemptErr = errors.New(code)
		}
	}
	if g.credID != 0 {
		if _, err := g.s.DB.UpdateCredential(ctx, nil, g.credID, map[string]any{"consecutive_failures": failures, "failures_since_success": failures}, ""); err != nil {
			return err
		}
	}
	if ok {
		g.s.auditLogin(ctx, op, g.key, models.EvUpstreamLoginOK, nil, 0, true)
	} else {
		g.s.auditLogin(ctx, op, g.key, models.EvUpstreamLoginFailed, attemptErr, failures, true)
	}
	return nil
}
