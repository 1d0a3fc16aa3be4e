package rotation

import (
	"context"
	"errors"
	"time"

	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/upstream"
	"github.com/uwsportal/uwsportal/models"
)

// end is the last transition of a run, with the login that decided it.
type end struct {
	lease   *upstream.Lease // the deciding login's lease, settled in the same transaction
	attempt error           // that login's result
	version int
	from    models.CredentialState
	to      models.CredentialState
	result  string
	code    string
	event   string
	message string
	// verified: the password at version was just seen to work; rotated:
	// a new one was.
	verified, rotated bool
}

// finish settles the deciding login, moves the credential from end.from
// to end.to (store.EndRotation), ends the run and audits it, in one
// transaction.
func (e *Engine) finish(ctx context.Context, r *run, end end, known secret.Secret) Result {
	res := Result{RunID: r.id, Result: end.result, Version: end.version, UpstreamCode: end.code, Message: end.message}
	settled := false
	err := e.commitRetry(ctx, "finish rotation", time.Minute, func() error {
		return e.db.WithTx(ctx, func(tx *store.Tx) error {
			if end.lease != nil && !settled {
				if err := end.lease.Settle(ctx, tx, end.attempt); err != nil {
					return err
				}
			}
			state, err := e.db.EndRotation(ctx, tx, r.row.ID, store.RotationEnd{Version: end.version, From: end.from, To: end.to,
				Result: end.result, Code: end.code, Verified: end.verified, Rotated: end.rotated})
			if err != nil {
				return err
			}
			res.State = state
			if err := e.db.SetRunResult(ctx, tx, r.id, end.result, end.code, end.message, true); err != nil {
				return err
			}
			return e.db.Audit(ctx, tx, e.endEvent(r, end, state), known.Reveal(), r.old.Reveal())
		})
	})
	if err != nil && end.lease != nil {
		// The login's count must not wait for the rest: settle it alone.
		if serr := end.lease.Settle(ctx, nil, end.attempt); serr == nil {
			settled = true
		}
	}
	if err != nil {
		// The state stays as it was; recovery resolves it after StuckAfter.
		e.log.Error("rotation: could not record the end of the run; recovery will resolve it",
			"department", r.slug(), "run", r.id, "result", end.result, "err", err, "login_settled", settled)
		res.State = end.from
	}
	return res
}

func (e *Engine) endEvent(r *run, end end, state models.CredentialState) *models.AuditEvent {
	ev := e.event(r, end.event).With("state", string(state))
	switch end.event {
	case models.EvRotateVerified:
		ev.With("version", end.version)
	case models.EvRotateFailed, models.EvRotateResolved:
		ev.With("upstream_code", end.code)
		if end.result != models.RunRejected && end.result != models.RunNotRotated {
			ev.Outcome = models.OutcomeFailure
		}
	}
	if end.result == models.RunRejected {
		ev.Outcome = models.OutcomeFailure
	}
	return ev
}

// unknown records that the reset's outcome is unknown, then tries the old
// password once. If the record cannot be committed, no check is made now:
// recovery finds the run and makes the one check itself.
func (e *Engine) unknown(ctx context.Context, r *run, reason, code string) Result {
	err := e.commitRetry(ctx, "mark rotation unknown", time.Minute, func() error {
		return e.db.WithTx(ctx, func(tx *store.Tx) error {
			changed, err := e.db.MarkRotationUnknown(ctx, tx, r.row.ID, r.row.Version, code)
			if err != nil || !changed {
				return err
			}
			if err := e.db.SetRunResult(ctx, tx, r.id, models.RunResolving, code, reason, false); err != nil {
				return err
			}
			return e.db.Audit(ctx, tx, e.event(r, models.EvRotateUnknown).With("reason", reason))
		})
	})
	if err != nil {
		e.log.Error("rotation: could not record the unknown outcome; recovery will resolve it", "department", r.slug(), "run", r.id, "err", err)
		return Result{RunID: r.id, Result: models.RunUnknown, State: models.StateResetting, Version: r.row.Version, UpstreamCode: code,
			Message: "ThingSpace's answer to the reset was lost and the portal could not record it yet; it will check the old password once when it can."}
	}
	return e.resolve(ctx, r)
}

// resolve tries the old password once: if it works the reset was not
// applied; if not, only an administrator can find the password.
func (e *Engine) resolve(ctx context.Context, r *run) Result {
	lease, err := e.takeLease(ctx, r, upstream.PurposeResolve)
	var tok string
	if err == nil {
		// The credential still holds the old password: the new one never
		// arrived.
		tok, err = lease.Login(ctx)
	}
	end := end{lease: lease, attempt: err, version: r.row.Version, from: models.StateUnknown, event: models.EvRotateResolved}
	if err == nil {
		end.to, end.result, end.verified = models.StateIdle, models.RunNotRotated, true
		end.message = "ThingSpace's answer to the reset was lost, but the old password still works: nothing changed. Try again later."
	} else {
		end.to, end.result, end.code = models.StateAttention, models.RunAttention, upstream.Code(err)
		end.message = "ThingSpace's answer to the reset was lost and the old password no longer works. " + models.AttentionAdvice(r.row.Username)
	}
	res := e.finish(ctx, r, end, r.old)
	if tok != "" {
		e.up.Logout(ctx, r.proto(), r.row.Username, tok)
	}
	return res
}

// commitRetry runs fn until it succeeds, ctx ends or patience runs out,
// backing off between attempts. Domain errors are not retried.
func (e *Engine) commitRetry(ctx context.Context, what string, patience time.Duration, fn func() error) error {
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
		e.log.Warn("retrying: "+what, "err", err)
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}
