package requests

import (
	"context"
	"time"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

// Query selects the requests a page shows.
type Query struct {
	IDs    []int64 // these requests only (the results of one action)
	Device string  // "kind:id": one device's history
	Open   bool    // only pending and unknown
	Limit  int
}

// LongPending is how long a request may stay pending before the
// dashboard counts it.
const LongPending = 10 * time.Minute

// List reads slug's requests for p: people who work on the department's
// devices, and those who may read its audit trail.
func (s *Service) List(ctx context.Context, p *models.Principal, slug string, q Query) ([]models.DeviceRequest, error) {
	if p.Anonymous() {
		return nil, models.ErrUnauthorized
	}
	if !p.Can(models.PermUseDevices, slug) && !p.Can(models.PermViewAudit, slug) {
		return nil, models.Errorf(models.ErrForbidden, "You may not see the device requests of %s.", slug)
	}
	if len(q.IDs) > 0 {
		all, err := s.db.DeviceRequestsByID(ctx, q.IDs)
		var out []models.DeviceRequest
		for _, r := range all {
			if r.Department == slug {
				out = append(out, r)
			}
		}
		return out, err
	}
	return s.db.DeviceRequests(ctx, store.RequestFilter{Department: slug, Device: q.Device, Open: q.Open, Limit: q.Limit})
}

// Troubles counts, per department p may see, the requests that failed or
// stayed unknown in the last week and those pending for too long.
func (s *Service) Troubles(ctx context.Context, p *models.Principal) ([]store.RequestTroubles, error) {
	if p.Anonymous() {
		return nil, models.ErrUnauthorized
	}
	now := s.now()
	all, err := s.db.CountRequestTroubles(ctx, now.Add(-7*24*time.Hour), now.Add(-LongPending))
	var out []store.RequestTroubles
	for _, t := range all {
		if (t.Failed > 0 || t.LongPending > 0 || t.UnknownCount > 0) && (p.Can(models.PermUseDevices, t.Department) || p.Can(models.PermViewAudit, t.Department)) {
			out = append(out, t)
		}
	}
	return out, err
}
