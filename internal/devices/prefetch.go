package devices

import (
	"context"

	"github.com/uwsportal/uwsportal/internal/store"
)

// The devices page's first read (store.DeviceDepartment: the department,
// its policy, its credential and its account's shared session) needs only
// the slug in the path, so the web layer starts it beside the session's
// read instead of after it: the page then waits for one round trip where
// it waited for two. What it read is used only by ListPage, for that
// slug, once the person is signed in and allowed; nothing of it reaches
// anyone before that. A request that never gets there drops it.

type wayReadKey struct{}

// wayRead is a department's read under way.
type wayRead struct {
	slug string
	done chan struct{}
	way  store.DeviceWay
	err  error
}

// Prefetch starts reading department slug's way for a devices list that
// is about to be authorized, and returns ctx carrying it: ListPage of
// slug with that context (or one derived from it) uses it.
func (s *Service) Prefetch(ctx context.Context, slug string) context.Context {
	r := &wayRead{slug: slug, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		// Not cancelled with the request: a read cut off mid-statement
		// costs its connection.
		r.way, r.err = s.db.DeviceDepartment(context.WithoutCancel(ctx), slug)
	}()
	return context.WithValue(ctx, wayReadKey{}, r)
}

// deviceWay is department slug's way: read ahead (Prefetch) or now.
func (s *Service) deviceWay(ctx context.Context, slug string) (store.DeviceWay, error) {
	if r, ok := ctx.Value(wayReadKey{}).(*wayRead); ok && r.slug == slug {
		select {
		case <-r.done:
			return r.way, r.err
		case <-ctx.Done():
			return store.DeviceWay{}, ctx.Err()
		}
	}
	return s.db.DeviceDepartment(ctx, slug)
}
