package devices

import (
	"context"

	"github.com/uwsportal/uwsportal/internal/requests"
	"github.com/uwsportal/uwsportal/models"
)

// recordSend writes the action's event e together with the request
// record that follows it to its end, and returns the record's id.
func (s *Service) recordSend(ctx context.Context, p *models.Principal, meta models.RequestMeta, ss *session, op models.Operation, r DeviceResult, e *models.AuditEvent) int64 {
	out := requests.Accepted
	switch r.Outcome {
	case Refused:
		out = requests.Refused
	case Unknown:
		out = requests.Lost
	}
	id, err := s.reqs.Record(ctx, requests.Sent{P: p, Meta: meta, Department: ss.dept.Slug, Account: ss.dept.AccountName, Op: op,
		Devices: []models.DeviceID{r.Device}, RequestID: r.RequestID, Outcome: out, Fault: r.Code, Event: e})
	if err != nil {
		s.log.ErrorContext(ctx, "record device request", "code", e.Code, "err", err)
	}
	return id
}
