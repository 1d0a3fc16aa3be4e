package rotation

import (
	"context"
	"errors"
	"fmt"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/upstream"
	"github.com/uwsportal/uwsportal/models"
)

// ResolveStuck takes over rotations left in resetting, verifying or
// unknown for longer than the stuck timeout whose owner is gone (nobody
// holds the account lock): resetting and unknown go through the unknown
// path (one login with the old password, unless one was already under
// way), verifying verifies the stored new password once. It returns how
// many it resolved. The scheduler calls it each pass; serve calls it at
// start-up too. It is detached from its caller's cancellation.
func (e *Engine) ResolveStuck(ctx context.Context) (int, error) {
	ctx = context.WithoutCancel(ctx)
	rows, err := e.db.StuckCredentials(ctx, e.now().Add(-e.up.StuckAfter()))
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, row := range rows {
		ok, err := e.resolveOne(ctx, row)
		if err != nil {
			errs = append(errs, fmt.Errorf("resolve %s: %w", row.Slug, err))
		}
		if ok {
			n++
		}
	}
	return n, errors.Join(errs...)
}

func (e *Engine) resolveOne(ctx context.Context, row store.CredentialRow) (bool, error) {
	if !e.inflight.begin() {
		return false, errStopping
	}
	defer e.inflight.end()
	held, err := e.up.TryLockAccount(ctx, row.Username)
	if err != nil || held == nil {
		return false, err // a live process owns the rotation
	}
	defer held.Unlock()
	claimed, err := e.db.ClaimStuckRotation(ctx, row)
	if err != nil || !claimed {
		return false, err
	}
	if err := e.up.Configured(models.Protocol(row.Protocol)); err != nil {
		return false, err
	}
	pw, err := upstream.Open(e.keys, &row)
	if err != nil {
		return false, err
	}
	r := &run{row: row, old: pw, p: models.SystemPrincipal("recovery"), held: held, recovered: true}
	if row.RunID != nil {
		r.id = *row.RunID
	}
	e.log.Warn("rotation: resolving a rotation left unfinished", "department", row.Slug, "run", r.id, "state", row.State)
	var res Result
	switch row.CredState() {
	case models.StateResetting:
		res = e.unknown(ctx, r, "interrupted", "")
	case models.StateUnknown:
		res, err = e.resolveUnknown(ctx, r)
	case models.StateVerifying:
		// The stored password is the new one; the old is unknown here.
		r.old = ""
		res = e.verify(ctx, r, row.Version, pw)
	}
	e.count(res)
	return err == nil, err
}

// resolveUnknown resolves a run left in unknown: if its one check with the
// old password was already under way, the check is not made again (it may
// have counted upstream); an administrator decides.
func (e *Engine) resolveUnknown(ctx context.Context, r *run) (Result, error) {
	result, err := e.db.RunResult(ctx, r.id)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return Result{}, err
	}
	if result != models.RunResolving {
		return e.resolve(ctx, r), nil
	}
	return e.finish(ctx, r, end{version: r.row.Version, from: models.StateUnknown, to: models.StateAttention,
		result: models.RunAttention, event: models.EvRotateResolved,
		message: "ThingSpace's answer to the reset was lost and the portal stopped while checking the old password; it will not check again. " +
			models.AttentionAdvice(r.row.Username)}, r.old), nil
}
