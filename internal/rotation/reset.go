package rotation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/internal/upstream"
	"github.com/uwsportal/uwsportal/models"
)

// reset makes the reset call and follows its outcome.
func (e *Engine) reset(ctx context.Context, r *run) Result {
	res := e.resetOnce(ctx, r)
	if res.Outcome == thingspace.ResetRejected && thingspace.ClassOf(res.Err) == thingspace.ClassSessionExpired && r.session != "" {
		// The cached session had expired: the reset was not applied. Drop
		// it, log in once, and try once more.
		if err := e.up.Sessions().Drop(ctx, store.AccountKey(r.row.Username), r.session); err != nil {
			e.log.Warn("rotation: drop expired session", "department", r.slug(), "err", err)
		}
		r.session = ""
		res = e.resetOnce(ctx, r)
	}
	switch res.Outcome {
	case thingspace.ResetApplied:
		return e.applied(ctx, r, res.NewPassword)
	case thingspace.ResetRejected:
		return e.rejected(ctx, r, res.Err)
	}
	e.log.Warn("rotation: the reset's answer was lost", "department", r.slug(), "run", r.id, "err", res.Err)
	return e.unknown(ctx, r, "answer lost: "+thingspace.ClassOf(res.Err).String(), upstream.Code(res.Err))
}

// resetOnce sends one reset with the cached session, or with a new one
// (one guarded login, settled together with caching the session).
func (e *Engine) resetOnce(ctx context.Context, r *run) thingspace.ResetResult {
	if r.session == "" {
		tok, err := e.login(ctx, r, upstream.PurposeRotate, true)
		if err != nil {
			return thingspace.ResetResult{Outcome: thingspace.ResetRejected, Err: err} // nothing was sent
		}
		r.session = tok
	}
	return r.held.Reset(ctx, r.session, r.row.Version)
}

// login makes one guarded login with the account's current password,
// under the lease reserved earlier or a new one; cache keeps the session
// for the account.
func (e *Engine) login(ctx context.Context, r *run, purpose string, cache bool) (string, error) {
	lease, err := e.takeLease(ctx, r, purpose)
	if err != nil {
		return "", err
	}
	tok, err := lease.Login(ctx)
	serr := e.db.WithTx(ctx, func(tx *store.Tx) error {
		if err := lease.Settle(ctx, tx, err); err != nil {
			return err
		}
		if err == nil && cache {
			return e.up.Sessions().PutIn(ctx, tx, store.AccountKey(r.row.Username), tok)
		}
		return nil
	})
	if serr != nil {
		e.log.Warn("rotation: record login", "department", r.slug(), "err", serr)
		if err == nil {
			serr = nil // a stale count only makes the guard stricter
		}
	}
	return tok, errors.Join(err, serr)
}

// takeLease returns the lease reserved in an earlier transaction, or
// reserves one now (waiting for another login in flight).
func (e *Engine) takeLease(ctx context.Context, r *run, purpose string) (*upstream.Lease, error) {
	if l := r.lease; l != nil {
		r.lease = nil
		return l, nil
	}
	return e.up.Guard().Reserve(ctx, r.held, r.who(purpose), false)
}

var errSuperseded = errors.New("the credential was replaced during the rotation")

// applied stores the new password, then verifies it.
func (e *Engine) applied(ctx context.Context, r *run, pw secret.Secret) Result {
	version, err := e.keepNewPassword(ctx, r, pw)
	if err != nil {
		return Result{RunID: r.id, Result: models.RunUnknown, State: models.StateUnknown, Version: r.row.Version,
			Message: "ThingSpace issued a new password but the portal could not store it. " + models.AttentionAdvice(r.row.Username)}
	}
	return e.verify(ctx, r, version, pw)
}

// keepNewPassword commits the new password (the second durability
// point), retrying with back-off while the database is unreachable:
// ThingSpace will never say it again, so it is held in memory until it is
// stored. The verification's lease is reserved in the same transaction.
func (e *Engine) keepNewPassword(ctx context.Context, r *run, pw secret.Secret) (int, error) {
	wait := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		version, err := e.storeNewPassword(ctx, r, pw)
		if err == nil {
			if attempt > 1 {
				e.log.Warn("rotation: the new password is stored at last", "department", r.slug(), "run", r.id, "attempts", attempt)
			}
			return version, nil
		}
		if errors.Is(err, errSuperseded) {
			e.log.Error("rotation: the credential was replaced by an administrator during the rotation; the password ThingSpace issued is discarded",
				"department", r.slug(), "run", r.id)
			return 0, err
		}
		e.log.Error("rotation: ThingSpace applied a new password that could not be stored yet; keeping it in memory and retrying",
			"department", r.slug(), "run", r.id, "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			e.log.Error("rotation: gave up storing the new password: it is lost and the credential needs an administrator",
				"department", r.slug(), "run", r.id, "err", ctx.Err())
			return 0, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

func (e *Engine) storeNewPassword(ctx context.Context, r *run, pw secret.Secret) (int, error) {
	keyID, ct, err := upstream.Seal(e.keys, r.row.ID, pw)
	if err != nil {
		return 0, err
	}
	err = e.db.WithTx(ctx, func(tx *store.Tx) error {
		stored, err := e.db.StoreRotatedPassword(ctx, tx, r.row.ID, r.row.Version, ct, keyID, r.id)
		if err != nil {
			return err
		}
		if !stored {
			return errSuperseded
		}
		if r.lease, err = e.up.Guard().TryReserve(ctx, tx, r.held, r.who(upstream.PurposeVerify), false); err != nil {
			r.lease = nil // the verification reserves on its own
			e.log.Warn("rotation: the verification's lease is refused for now", "department", r.slug(), "err", err)
		}
		ev := e.event(r, models.EvRotateApplied).With("version", r.row.Version+1)
		return e.db.Audit(ctx, tx, ev, pw.Reveal(), r.old.Reveal())
	})
	if err != nil {
		r.lease = nil
		return 0, err
	}
	return r.row.Version + 1, nil
}

// verify logs in once with the new password, stored by now as the
// credential's current one (and out again).
func (e *Engine) verify(ctx context.Context, r *run, version int, pw secret.Secret) Result {
	lease, err := e.takeLease(ctx, r, upstream.PurposeVerify)
	var tok string
	if err == nil {
		tok, err = lease.Login(ctx)
	}
	end := end{lease: lease, attempt: err, version: version, from: models.StateVerifying}
	if err == nil {
		end.to, end.result, end.event, end.verified, end.rotated = models.StateIdle, models.RunRotated, models.EvRotateVerified, true, true
		end.message = fmt.Sprintf("The password was rotated and verified (version %d).", version)
	} else {
		end.to, end.result, end.event, end.code = models.StateAttention, models.RunAttention, models.EvRotateFailed, upstream.Code(err)
		end.message = fmt.Sprintf("ThingSpace issued a new password and the portal stored it, but logging in with it failed (%s). ", end.code) +
			models.AttentionAdvice(r.row.Username)
	}
	res := e.finish(ctx, r, end, pw)
	if tok != "" {
		e.up.Logout(ctx, r.proto(), r.row.Username, tok)
	}
	return res
}

// rejected ends a run whose reset ThingSpace refused: nothing changed.
func (e *Engine) rejected(ctx context.Context, r *run, err error) Result {
	code := upstream.Code(err)
	msg := fmt.Sprintf("ThingSpace refused the reset (%s): nothing changed.", code)
	if upstream.Refused(err) {
		msg = "The lockout guard refused the login needed for the reset: nothing changed."
	}
	return e.finish(ctx, r, end{version: r.row.Version, from: models.StateResetting, to: models.StateIdle, result: models.RunRejected,
		code: code, event: models.EvRotateFailed, message: msg}, r.old)
}
