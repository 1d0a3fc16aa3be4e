package gateway

import (
	"context"
	"strconv"

	"github.com/uwsportal/uwsportal/models"
)

// audit records one event of the request's client, even when the client
// has gone away meanwhile: what was done is recorded whoever still waits.
func (s *Service) audit(q *request, code string, outcome models.Outcome, kv ...any) {
	e := s.event(q, code, outcome, kv...)
	if err := s.db.AuditAlone(context.WithoutCancel(q.r.Context()), e); err != nil {
		s.log.ErrorContext(q.r.Context(), "audit", "code", code, "request_id", q.meta.RequestID, "err", err)
	}
}

func (s *Service) event(q *request, code string, outcome models.Outcome, kv ...any) *models.AuditEvent {
	e := models.NewEvent(code, principal(q.client), q.meta).With("client_id", q.client.ID, "owner", q.client.Owner())
	e.With(kv...)
	e.Outcome, e.Department, e.Target = outcome, q.client.Department, "api_client:"+q.client.ID
	return e
}

// refused records a refusal: with its client when one was identified,
// grouped per client, reason and window (a client, or a leaked token, can
// be refused as fast as it asks); otherwise aggregated per source address
// (anyone can send those).
func (s *Service) refused(q *request, ref *refusal) {
	defer s.count(q, ref.status)
	path := models.Clip(q.r.URL.Path, 200)
	if q.client != nil && q.verified {
		e := s.event(q, models.EvGatewayRefused, models.OutcomeDenied, "operation", q.op, "reason", ref.reason, "status", ref.status, "path", path)
		if err := s.db.AuditGrouped(context.WithoutCancel(q.r.Context()), e, ref.reason); err != nil {
			s.log.ErrorContext(q.r.Context(), "audit", "code", e.Code, "request_id", q.meta.RequestID, "err", err)
		}
		return
	}
	e := models.NewEvent(models.EvGatewayRefused, nil, q.meta).With("operation", q.op, "reason", ref.reason, "status", ref.status, "path", path)
	e.Outcome = models.OutcomeDenied
	if err := s.db.AuditAggregated(context.WithoutCancel(q.r.Context()), e, q.meta.SourceIP); err != nil {
		s.log.ErrorContext(q.r.Context(), "audit", "code", e.Code, "request_id", q.meta.RequestID, "err", err)
	}
}

// count records the request in the metrics, by client and operation.
func (s *Service) count(q *request, status int) {
	if s.m == nil {
		return
	}
	client := "none"
	if q.client != nil && q.verified {
		client = q.client.ID
	}
	s.m.GatewayRequests.WithLabelValues(client, q.op, strconv.Itoa(status)).Inc()
	s.m.GatewayDuration.WithLabelValues(client, q.op).Observe(q.start.Elapsed().Seconds())
}
