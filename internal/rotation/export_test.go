package rotation

import (
	"context"
	"time"

	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/models"
)

// RotateAttached is a rotation that dies with ctx, as one whose process is
// killed: nothing after ctx ends reaches the database.
func (e *Engine) RotateAttached(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string) (Result, error) {
	return e.rotate(ctx, p, meta, slug, models.TriggerManual, 0)
}

// RotateUntilStored runs a rotation up to the new password's commit and
// stops there, as a process killed right after it would.
func (e *Engine) RotateUntilStored(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string) error {
	pre, err := e.depts.Credential(ctx, slug)
	if err != nil {
		return err
	}
	held, err := e.up.LockAccount(ctx, pre.Username)
	if err != nil {
		return err
	}
	defer held.Unlock() // the process dies: its connection, and the lock, go
	r, err := e.start(ctx, p, meta, pre, starting{trigger: models.TriggerManual}, held)
	if err != nil {
		return err
	}
	res := e.resetOnce(ctx, r)
	if res.Outcome != thingspace.ResetApplied {
		return res.Err
	}
	_, err = e.keepNewPassword(ctx, r, res.NewPassword)
	return err
}

// Backoff exposes the scheduler's back-off to the tests.
func (sc *Scheduler) Backoff(failures int) time.Duration { return sc.backoff(failures) }
