package gateway

import (
	"context"
	"strings"

	"github.com/uwsportal/uwsportal/internal/requests"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/models"
)

// recordSend records an application's action as a device request to
// follow to its end, in the client's name: a 2xx with a request id is
// pending, a 4xx was refused, anything else is a lost answer (unknown).
func (s *Service) recordSend(ctx context.Context, q *request, op models.Operation, body []byte, ans thingspace.RawAnswer) {
	in := requests.Sent{P: principal(q.client), Meta: q.meta, Department: q.client.Department, Account: q.client.AccountName,
		ClientID: q.client.ID, Op: op, Devices: store.ParseDeviceKeys(strings.Join(auditDevices(body), ","))}
	switch rid, code := answerFields(op, ans); {
	case ans.Status >= 200 && ans.Status < 300 && rid != "":
		in.Outcome, in.RequestID = requests.Accepted, rid
	case ans.Status >= 400 && ans.Status < 500:
		in.Outcome, in.Fault = requests.Refused, code
	default:
		in.Outcome = requests.Lost
	}
	if _, err := s.reqs.Record(ctx, in); err != nil {
		s.log.ErrorContext(ctx, "record device request", "client_id", q.client.ID, "request_id", q.meta.RequestID, "err", err)
	}
}
