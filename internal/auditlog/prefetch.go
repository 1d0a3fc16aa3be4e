package auditlog

import (
	"context"

	"github.com/uwsportal/uwsportal/models"
)

// The audit page's search needs only its filter and, for a person who
// reads the whole trail, no scope, so the web layer may start it beside
// the session's read instead of after it: the page then waits for one
// round trip where it waited for two. What it read is used only by
// SearchAudit, for the same filter, once the person is signed in and seen
// to read the whole trail; nothing of it reaches anyone before that. A
// request that never gets there drops it.

type searchReadKey struct{}

// searchRead is a whole-trail search under way.
type searchRead struct {
	f      models.AuditFilter // as the store is asked (pageFilter)
	done   chan struct{}
	events []models.AuditEvent
	err    error
}

// Prefetch starts the search of f over the whole trail for a page that is
// about to be authorized, and returns ctx carrying it: SearchAudit of f
// with that context (or one derived from it) uses it when its person reads
// the whole trail.
func (s *Service) Prefetch(ctx context.Context, f models.AuditFilter) context.Context {
	r := &searchRead{f: pageFilter(f), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		// Not cancelled with the request: a read cut off mid-statement
		// costs its connection.
		ctx := context.WithoutCancel(ctx)
		s.flushAuditWindows(ctx)
		r.events, r.err = s.db.SearchAudit(ctx, r.f, nil)
	}()
	return context.WithValue(ctx, searchReadKey{}, r)
}

// search is the store's page of f (pageFilter) within scope: read ahead
// (Prefetch) when it was for the same filter over the whole trail, or now.
func (s *Service) search(ctx context.Context, f models.AuditFilter, scope []string) ([]models.AuditEvent, error) {
	if r, ok := ctx.Value(searchReadKey{}).(*searchRead); ok && scope == nil && sameFilter(r.f, f) {
		select {
		case <-r.done:
			return r.events, r.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	s.flushAuditWindows(ctx)
	return s.db.SearchAudit(ctx, f, scope)
}

// sameFilter reports whether a and b ask for the same events.
func sameFilter(a, b models.AuditFilter) bool {
	if !a.Since.Equal(b.Since) || !a.Until.Equal(b.Until) {
		return false
	}
	a.Since, a.Until = b.Since, b.Until // times compare by instant, not by zone
	return a == b
}

// pageFilter is f as the store is asked for one page: its limit within
// bounds, plus one, which tells whether another page follows.
func pageFilter(f models.AuditFilter) models.AuditFilter {
	if f.Limit <= 0 || f.Limit > models.AuditPageMax {
		f.Limit = models.AuditPageDefault
	}
	f.Limit++
	return f
}
