package rotation

import (
	"context"

	"github.com/uwsportal/uwsportal/models"
)

// StartNow is RotateNow for a page that follows the rotation: it returns
// the run's id as soon as the run is committed, before anything is sent
// upstream, and the rotation goes on to its defined end in the background
// (counted for shutdown like any other). An error means the rotation did
// not start (permission, approval, conflict, guard).
func (e *Engine) StartNow(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string, approval int64) (int64, error) {
	if err := p.Require(models.PermRotate, slug); err != nil {
		return 0, err
	}
	ids := make(chan int64, 1)
	errs := make(chan error, 1)
	if !e.inflight.begin() { // before the goroutine, so a shutdown's Wait sees it
		return 0, errStopping
	}
	go func() {
		defer e.inflight.end()
		_, err := e.rotateFrom(context.WithoutCancel(ctx), p, meta, slug, starting{trigger: models.TriggerManual, approval: approval},
			func(id int64) { ids <- id })
		if err != nil {
			errs <- err
		}
	}()
	select {
	case id := <-ids:
		return id, nil
	case err := <-errs:
		return 0, err
	}
}
