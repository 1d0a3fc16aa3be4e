package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/models"
)

// RotationResult is what a rotation did, for the page and the command line.
type RotationResult struct {
	RunID        int64
	Result       string // models.RunRotated, RunRejected, RunNotRotated, RunAttention or RunUnknown
	State        models.CredentialState
	Version      int
	UpstreamCode string
	Message      string // safe to show
}

// Rotated reports whether the credential now has a new, verified password.
func (r RotationResult) Rotated() bool { return r.Result == models.RunRotated }

// rotation is one run of the state machine.
type rotation struct {
	id     int64
	row    store.CredentialRow // as it was when the run started (or was recovered)
	old    secret.Secret       // the password at row.Version
	p      *models.Principal
	meta   models.RequestMeta
	client *thingspace.Client
}

func (r *rotation) slug() string           { return r.row.Slug }
func (r *rotation) proto() models.Protocol { return models.Protocol(r.row.Protocol) }
func (r *rotation) cred(pw secret.Secret) thingspace.Credential {
	return thingspace.Credential{Key: r.row.Slug, Username: r.row.Username, Password: pw}
}

// systemPrincipal acts for the scheduler and for recovery.
func systemPrincipal(name string) *models.Principal {
	return &models.Principal{Actor: models.ActorSystem, Name: name, Grants: []models.Grant{{Role: models.RoleAdmin}}}
}

// Rotate asks ThingSpace for a new password for the department's
// credential, stores it the moment it arrives, and verifies it with a login.
// The returned error says the rotation could not start (permission,
// conflict, guard); once started it runs to a defined end, reported in the
// result, even if ctx is cancelled (a closed browser tab must not leave a
// reset half done).
func (s *Service) Rotate(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string, trigger models.RotationTrigger) (RotationResult, error) {
	if err := require(p, models.PermRotate, slug); err != nil {
		return RotationResult{}, err
	}
	switch trigger {
	case "":
		trigger = models.TriggerManual
	case models.TriggerManual, models.TriggerScheduled, models.TriggerCLI:
	default:
		return RotationResult{}, models.Errorf(models.ErrInvalid, "Unknown rotation trigger %q.", clip(string(trigger), 20))
	}
	return s.rotate(context.WithoutCancel(ctx), p, meta, slug, trigger)
}

func (s *Service) rotate(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string, trigger models.RotationTrigger) (RotationResult, error) {
	r, err := s.startRotation(ctx, p, meta, slug, trigger)
	if err != nil {
		return RotationResult{}, err
	}
	res := s.runReset(ctx, r)
	if s.Metrics != nil {
		s.Metrics.Rotations.WithLabelValues(res.Result).Inc()
	}
	return res, nil
}

// startRotation moves the credential from idle to resetting and records the
// run, committed before anything is sent upstream. The row lock makes one
// rotation per credential across every instance: a second one finds the
// state no longer idle.
func (s *Service) startRotation(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string, trigger models.RotationTrigger) (*rotation, error) {
	pre, err := s.credential(ctx, slug)
	if err != nil {
		return nil, err
	}
	c, err := s.client(models.Protocol(pre.Protocol))
	if err != nil {
		return nil, err
	}
	r := &rotation{p: p, meta: meta, client: c}
	err = s.DB.WithTx(ctx, func(tx *store.Tx) error {
		row, err := s.DB.Credential(ctx, tx, slug, true)
		if err != nil {
			return err
		}
		if err := s.rotatable(&row); err != nil {
			return err
		}
		if r.old, err = s.openCredential(&row); err != nil {
			return err
		}
		if r.id, err = s.DB.InsertRun(ctx, tx, row.ID, row.DepartmentID, actorOf(p), p.Name, trigger); err != nil {
			return err
		}
		if _, err := s.DB.UpdateCredential(ctx, tx, row.ID, map[string]any{"state": string(models.StateResetting),
			"state_since": s.Now(), "run_id": r.id, "last_result": models.RunRunning}, ""); err != nil {
			return err
		}
		r.row = row
		e := s.runEvent(r, models.EvRotateStarted).With("trigger", string(trigger), "version", row.Version)
		return s.DB.Audit(ctx, tx, e)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// rotatable says why a credential cannot start a rotation, if it cannot.
func (s *Service) rotatable(row *store.CredentialRow) error {
	switch st := row.CredState(); {
	case st.Rotating():
		return models.Errorf(models.ErrConflict, "A rotation is already in progress for %s.", row.Slug)
	case st == models.StateQuarantined:
		return models.Errorf(models.ErrConflict, "The credential of %s is quarantined: %s", row.Slug, models.QuarantineAdvice(row.Username))
	case st == models.StateAttention:
		return models.Errorf(models.ErrConflict, "The credential of %s needs an administrator: %s", row.Slug, models.AttentionAdvice(row.Username))
	case row.ConsecutiveFailures >= s.Upstream.Threshold() || row.FailuresSinceSuccess >= hardFailureCap:
		return models.Errorf(models.ErrConflict, "The lockout guard refuses further logins with %s until an administrator fixes it.", row.Username)
	}
	return nil
}

func actorOf(p *models.Principal) string {
	if p.Anonymous() {
		return models.ActorSystem
	}
	return p.Actor
}

func (s *Service) runEvent(r *rotation, code string) *models.AuditEvent {
	e := models.NewEvent(code, r.p, r.meta).With("run_id", r.id)
	e.Department, e.Target = r.slug(), "credential:"+r.slug()
	return e
}

// runReset makes the reset call and follows its outcome.
func (s *Service) runReset(ctx context.Context, r *rotation) RotationResult {
	uctx, op := withOp(ctx, r.p, r.meta, PurposeRotate, r.proto())
	var res thingspace.ResetResult
	// Under the session lock: another instance wanting the session waits
	// for this one's login rather than making its own.
	if err := s.singleFlight(uctx, r.row.ID, func() error {
		res = r.client.Reset(uctx, r.cred(r.old))
		return nil
	}); err != nil {
		res = thingspace.ResetResult{Outcome: thingspace.ResetRejected, Err: err} // nothing was sent
	}
	s.settle(uctx, op, r.slug())
	switch res.Outcome {
	case thingspace.ResetApplied:
		return s.applied(ctx, r, res.NewPassword)
	case thingspace.ResetRejected:
		return s.rejected(ctx, r, res.Err)
	}
	s.Log.Warn("rotation: the reset's answer was lost", "department", r.slug(), "run", r.id, "err", res.Err)
	s.markUnknown(ctx, r, "answer lost: "+thingspace.ClassOf(res.Err).String(), upstreamCode(res.Err))
	return s.resolveUnknown(ctx, r)
}

var errSuperseded = errors.New("the credential was replaced during the rotation")

// applied stores the new password, then verifies it.
func (s *Service) applied(ctx context.Context, r *rotation, pw secret.Secret) RotationResult {
	version, err := s.keepNewPassword(ctx, r, pw)
	if err != nil {
		return RotationResult{RunID: r.id, Result: models.RunUnknown, State: models.StateUnknown, Version: r.row.Version,
			Message: "ThingSpace issued a new password but the portal could not store it. " + models.AttentionAdvice(r.row.Username)}
	}
	return s.verifyRotation(ctx, r, version, pw)
}

// keepNewPassword commits the new password, retrying with back-off while
// the database is unreachable: ThingSpace will never say it again, so it
// is held in memory until it is stored or ctx ends.
func (s *Service) keepNewPassword(ctx context.Context, r *rotation, pw secret.Secret) (int, error) {
	wait := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		version, err := s.storeNewPassword(ctx, r, pw)
		if err == nil {
			if attempt > 1 {
				s.Log.Warn("rotation: the new password is stored at last", "department", r.slug(), "run", r.id, "attempts", attempt)
			}
			return version, nil
		}
		if errors.Is(err, errSuperseded) {
			s.Log.Error("rotation: the credential was replaced by an administrator during the rotation; the password ThingSpace issued is discarded",
				"department", r.slug(), "run", r.id)
			return 0, err
		}
		s.Log.Error("rotation: ThingSpace applied a new password that could not be stored yet; keeping it in memory and retrying",
			"department", r.slug(), "run", r.id, "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			s.Log.Error("rotation: gave up storing the new password: it is lost and the credential needs an administrator",
				"department", r.slug(), "run", r.id, "err", ctx.Err())
			return 0, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

func (s *Service) storeNewPassword(ctx context.Context, r *rotation, pw secret.Secret) (int, error) {
	var version int
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		cur, err := s.DB.CredentialByID(ctx, tx, r.row.ID, true)
		if err != nil {
			return err
		}
		if cur.Version != r.row.Version {
			return errSuperseded
		}
		keyID, ct, err := s.Keyring.Seal([]byte(pw.Reveal()), credentialAAD(cur.ID))
		if err != nil {
			return err
		}
		version = cur.Version + 1
		now := s.Now()
		// Whatever state recovery may have moved the row to meanwhile, this
		// password is the truth now.
		if _, err := s.DB.UpdateCredential(ctx, tx, cur.ID, map[string]any{"ciphertext": ct, "key_id": keyID, "version": version,
			"state": string(models.StateVerifying), "state_since": now, "run_id": r.id, "password_changed_at": now,
			"last_result": "applied"}, ""); err != nil {
			return err
		}
		return s.DB.Audit(ctx, tx, s.runEvent(r, models.EvRotateApplied).With("version", version), pw.Reveal(), r.old.Reveal())
	})
	return version, err
}

// verifyRotation logs in once with the new password (and out again).
func (s *Service) verifyRotation(ctx context.Context, r *rotation, version int, pw secret.Secret) RotationResult {
	uctx, op := withOp(ctx, r.p, r.meta, PurposeVerify, r.proto())
	err := r.client.TestLogin(uctx, r.cred(pw))
	s.settle(uctx, op, r.slug())
	if err == nil {
		now := s.Now()
		return s.finish(ctx, r, runEnd{
			version: version, from: models.StateVerifying, to: models.StateIdle, result: models.RunRotated,
			set:   map[string]any{"last_rotated_at": now, "last_verified_at": now, "last_upstream_code": "", "schedule_failures": 0, "next_attempt_at": nil},
			event: models.EvRotateVerified, message: fmt.Sprintf("The password was rotated and verified (version %d).", version),
		}, pw)
	}
	code := upstreamCode(err)
	return s.finish(ctx, r, runEnd{
		version: version, from: models.StateVerifying, to: models.StateAttention, result: models.RunAttention, code: code,
		set: map[string]any{"last_upstream_code": code}, event: models.EvRotateFailed,
		message: fmt.Sprintf("ThingSpace issued a new password and the portal stored it, but logging in with it failed (%s). ", code) +
			models.AttentionAdvice(r.row.Username),
	}, pw)
}

// rejected ends a run whose reset ThingSpace refused: nothing changed.
func (s *Service) rejected(ctx context.Context, r *rotation, err error) RotationResult {
	code := upstreamCode(err)
	msg := fmt.Sprintf("ThingSpace refused the reset (%s): nothing changed.", code)
	if guardRefused(err) {
		msg = "The lockout guard refused the login needed for the reset: nothing changed."
	}
	return s.finish(ctx, r, runEnd{
		version: r.row.Version, from: models.StateResetting, to: models.StateIdle, result: models.RunRejected, code: code,
		set: map[string]any{"last_upstream_code": code}, event: models.EvRotateFailed, message: msg,
	}, r.old)
}

// markUnknown records that the reset's outcome is unknown.
func (s *Service) markUnknown(ctx context.Context, r *rotation, reason, code string) {
	err := s.commitRetry(ctx, "mark rotation unknown", time.Minute, func() error {
		return s.DB.WithTx(ctx, func(tx *store.Tx) error {
			changed, err := s.DB.UpdateCredential(ctx, tx, r.row.ID, map[string]any{"state": string(models.StateUnknown),
				"state_since": s.Now(), "last_result": models.RunUnknown, "last_upstream_code": code},
				"state = ? AND version = ?", string(models.StateResetting), r.row.Version)
			if err != nil || !changed {
				return err
			}
			if err := s.DB.SetRunResult(ctx, tx, r.id, models.RunUnknown, code, reason, false); err != nil {
				return err
			}
			return s.DB.Audit(ctx, tx, s.runEvent(r, models.EvRotateUnknown).With("reason", reason))
		})
	})
	if err != nil {
		s.Log.Error("rotation: could not record the unknown outcome; recovery will resolve it", "department", r.slug(), "run", r.id, "err", err)
	}
}

// resolveUnknown tries the old password once: if it works the reset was
// not applied; if not, only an administrator can find the password.
func (s *Service) resolveUnknown(ctx context.Context, r *rotation) RotationResult {
	uctx, op := withOp(ctx, r.p, r.meta, PurposeResolve, r.proto())
	err := r.client.TestLogin(uctx, r.cred(r.old))
	s.settle(uctx, op, r.slug())
	if err == nil {
		return s.finish(ctx, r, runEnd{
			version: r.row.Version, from: models.StateUnknown, to: models.StateIdle, result: models.RunNotRotated,
			set: map[string]any{"last_verified_at": s.Now(), "last_upstream_code": ""}, event: models.EvRotateResolved,
			message: "ThingSpace's answer to the reset was lost, but the old password still works: nothing changed. Try again later.",
		}, r.old)
	}
	code := upstreamCode(err)
	return s.finish(ctx, r, runEnd{
		version: r.row.Version, from: models.StateUnknown, to: models.StateAttention, result: models.RunAttention, code: code,
		set: map[string]any{"last_upstream_code": code}, event: models.EvRotateResolved,
		message: "ThingSpace's answer to the reset was lost and the old password no longer works. " + models.AttentionAdvice(r.row.Username),
	}, r.old)
}

// runEnd is the last transition of a run.
type runEnd struct {
	version  int
	from, to models.CredentialState
	result   string
	code     string
	set      map[string]any
	event    string
	message  string
}

// finish moves the credential from end.from to end.to (only if it is still
// there at end.version: a quarantine set by the guard meanwhile, or a
// credential replaced by an administrator, stays), ends the run and audits
// it, in one transaction.
func (s *Service) finish(ctx context.Context, r *rotation, end runEnd, known secret.Secret) RotationResult {
	res := RotationResult{RunID: r.id, Result: end.result, Version: end.version, UpstreamCode: end.code, Message: end.message}
	err := s.commitRetry(ctx, "finish rotation", time.Minute, func() error {
		return s.DB.WithTx(ctx, func(tx *store.Tx) error {
			set := map[string]any{"last_result": end.result}
			for k, v := range end.set {
				set[k] = v
			}
			moved := map[string]any{"state": string(end.to), "state_since": s.Now()}
			for k, v := range set {
				moved[k] = v
			}
			changed, err := s.DB.UpdateCredential(ctx, tx, r.row.ID, moved, "state = ? AND version = ?", string(end.from), end.version)
			if err != nil {
				return err
			}
			if !changed {
				if _, err := s.DB.UpdateCredential(ctx, tx, r.row.ID, set, "version = ?", end.version); err != nil {
					return err
				}
			}
			cur, err := s.DB.CredentialByID(ctx, tx, r.row.ID, false)
			if err != nil {
				return err
			}
			res.State = cur.CredState()
			if err := s.DB.SetRunResult(ctx, tx, r.id, end.result, end.code, end.message, true); err != nil {
				return err
			}
			e := s.runEvent(r, end.event).With("state", cur.State)
			switch end.event {
			case models.EvRotateVerified:
				e.With("version", end.version)
			case models.EvRotateFailed, models.EvRotateResolved:
				e.With("upstream_code", end.code)
				if end.result != models.RunRejected && end.result != models.RunNotRotated {
					e.Outcome = models.OutcomeFailure
				}
			}
			if end.result == models.RunRejected {
				e.Outcome = models.OutcomeFailure
			}
			return s.DB.Audit(ctx, tx, e, known.Reveal(), r.old.Reveal())
		})
	})
	if err != nil {
		// The state stays as it was; recovery resolves it after StuckAfter.
		s.Log.Error("rotation: could not record the end of the run; recovery will resolve it",
			"department", r.slug(), "run", r.id, "result", end.result, "err", err)
		res.State = end.from
	}
	return res
}

// commitRetry runs fn until it succeeds, ctx ends or patience runs out,
// backing off between attempts. Domain errors are not retried.
func (s *Service) commitRetry(ctx context.Context, what string, patience time.Duration, fn func() error) error {
	deadline := time.Now().Add(patience)
	wait := 50 * time.Millisecond
	for {
		err := fn()
		if _, domain := models.SafeMessage(err); err == nil || domain {
			return err
		}
		if time.Now().Add(wait).After(deadline) {
			return err
		}
		s.Log.Warn("retrying: "+what, "err", err)
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// ResolveStuck takes over rotations left in resetting, verifying or
// unknown for longer than the stuck timeout (their process died or lost
// the database): resetting and unknown go through the unknown path (one
// login with the old password), verifying verifies the stored new password
// once. It returns how many it resolved. The scheduler calls it each pass;
// call it at start-up too.
func (s *Service) ResolveStuck(ctx context.Context) (int, error) {
	u, err := s.upstream()
	if err != nil {
		return 0, err
	}
	rows, err := s.DB.StuckCredentials(ctx, s.Now().Add(-u.cfg.StuckAfter))
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, row := range rows {
		ok, err := s.resolveOne(ctx, row)
		if err != nil {
			errs = append(errs, fmt.Errorf("resolve %s: %w", row.Slug, err))
		}
		if ok {
			n++
		}
	}
	return n, errors.Join(errs...)
}

func (s *Service) resolveOne(ctx context.Context, row store.CredentialRow) (bool, error) {
	// Claim the row: of several instances recovering at once, only the one
	// whose update still sees the old state_since goes on.
	claimed, err := s.DB.UpdateCredential(ctx, nil, row.ID, map[string]any{"state_since": s.Now()},
		"state = ? AND state_since = ? AND version = ?", row.State, row.StateSince, row.Version)
	if err != nil || !claimed {
		return false, err
	}
	c, err := s.client(models.Protocol(row.Protocol))
	if err != nil {
		return false, err
	}
	pw, err := s.openCredential(&row)
	if err != nil {
		return false, err
	}
	r := &rotation{row: row, old: pw, p: systemPrincipal("recovery"), client: c}
	if row.RunID != nil {
		r.id = *row.RunID
	}
	s.Log.Warn("rotation: resolving a rotation left unfinished", "department", row.Slug, "run", r.id, "state", row.State)
	var res RotationResult
	switch row.CredState() {
	case models.StateResetting:
		s.markUnknown(ctx, r, "interrupted", "")
		res = s.resolveUnknown(ctx, r)
	case models.StateUnknown:
		res = s.resolveUnknown(ctx, r)
	case models.StateVerifying:
		// The stored password is the new one; the old is unknown here.
		r.old = ""
		res = s.verifyRotation(ctx, r, row.Version, pw)
	}
	if s.Metrics != nil {
		s.Metrics.Rotations.WithLabelValues(res.Result).Inc()
	}
	return true, nil
}
