package rotation

import (
	"context"
	"sync"

	"github.com/uwsportal/uwsportal/models"
)

// flights counts the rotations in flight for shutdown. A sync.WaitGroup
// may not be waited on while it can still go up from zero, yet shutdown
// waits while a scheduler pass or a request may be starting a rotation,
// which could then run on after the database is closed. Once wait has
// begun, no rotation starts: begin says no before anything is read or
// sent upstream.
type flights struct {
	mu       sync.Mutex
	n        int
	stopping bool
	idle     chan struct{} // closed when n falls to 0 while stopping
}

// errStopping refuses a rotation that would start during shutdown.
var errStopping = models.Errorf(models.ErrUnavailable, "The portal is shutting down: the rotation did not start. Try again in a moment.")

// begin counts a rotation in; false (errStopping) once shutdown waits.
func (f *flights) begin() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopping {
		return false
	}
	f.n++
	return true
}

// end counts a rotation out.
func (f *flights) end() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n--; f.n == 0 && f.idle != nil {
		close(f.idle)
		f.idle = nil
	}
}

// wait refuses every rotation from now on and waits for those in flight,
// or for ctx to end.
func (f *flights) wait(ctx context.Context) error {
	f.mu.Lock()
	f.stopping = true
	if f.n == 0 {
		f.mu.Unlock()
		return nil
	}
	if f.idle == nil {
		f.idle = make(chan struct{})
	}
	idle := f.idle
	f.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
