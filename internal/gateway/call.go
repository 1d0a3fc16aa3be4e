package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/internal/upstream"
	"github.com/uwsportal/uwsportal/models"
)

// device passes one device call through: the client's token and handle,
// its scopes, the department's account, its limits, the Idempotency-Key;
// then ThingSpace with the department's session, its answer unchanged.
func (s *Service) device(q *request, op models.Operation) error {
	way, err := s.callerWay(q)
	if err != nil {
		return err
	}
	// The department's token was taken with the caller: a refusal before
	// anything is sent gives it back.
	sending := false
	defer func() {
		if !sending {
			s.refund(q, way)
		}
	}()
	if !q.client.Allows(op) {
		return errScope
	}
	if op == models.OpDeactivate && q.client.ApproveDeactivate {
		return errDualControl
	}
	if err := s.admit(q); err != nil {
		return err
	}
	release, ok := s.slot(q.client.ID)
	if !ok {
		return errBusy
	}
	defer release()
	raw, err := s.jsonBody(q)
	if err != nil {
		return err
	}
	body, devs, err := checkBody(raw, q.client.AccountName, op)
	if err != nil {
		return err
	}
	var idem idempotency
	if op != models.OpList {
		var replayed bool
		if idem, replayed, err = s.claim(q, body); err != nil || replayed {
			if replayed {
				s.audit(q, models.EvGatewayCall, models.OutcomeSuccess, "operation", string(op), "account", q.client.AccountName,
					"devices", devs, "idempotent_replay", true)
				s.count(q, http.StatusOK)
			}
			return err
		}
	}
	// Last before anything is sent: the department's ceiling, all its
	// clients together, as taken with the caller (a refusal or a replay
	// above sends nothing and gives its token back).
	if err := ceiling(way); err != nil {
		s.release(q, idem)
		return err
	}
	sending = true
	// An action that has begun runs to its end and is recorded, even if
	// the application goes away.
	ctx := context.WithoutCancel(q.r.Context())
	ans, err := s.forward(ctx, q, op, body, way)
	if err != nil {
		s.release(q, idem)
		return err
	}
	s.keep(q, idem, ans.Status, ans.Body)
	if op != models.OpList {
		s.recordSend(ctx, q, op, body, ans)
	}
	ct := ans.ContentType
	if ct == "" {
		ct = "application/json"
	}
	q.w.Header().Set("Content-Type", ct)
	q.w.Header().Set("Cache-Control", "no-store")
	q.w.WriteHeader(ans.Status)
	_, _ = q.w.Write(ans.Body)
	s.count(q, ans.Status)
	return nil
}

// forward calls ThingSpace and returns its answer, or the gateway's own
// answer when ThingSpace's was lost (never sent again). A refusal means
// nothing was sent.
// way is the department's credential and shared session as read with its
// ceiling.
func (s *Service) forward(ctx context.Context, q *request, op models.Operation, body []byte, way store.GatewayWay) (thingspace.RawAnswer, error) {
	devs := auditDevices(body)
	if way.Username == "" {
		return thingspace.RawAnswer{}, unavailable("no_credential", "The department has no usable UWS credential; nothing was sent.")
	}
	switch st := models.CredentialState(way.State); {
	case models.Protocol(way.Protocol) != models.ProtocolREST:
		return thingspace.RawAnswer{}, unavailable("soap_credential", "The department's credential uses legacy SOAP; nothing was sent.")
	case st == models.StateQuarantined || st == models.StateAttention || st == models.StateUnknown:
		return thingspace.RawAnswer{}, unavailable("credential_"+string(st), "The department's credential needs an administrator; nothing was sent.")
	}
	c, err := s.up.Client(models.ProtocolREST)
	if err != nil {
		return thingspace.RawAnswer{}, unavailable("not_configured", "ThingSpace is not configured on this portal; nothing was sent.")
	}
	who := upstream.Who{P: principal(q.client), Meta: q.meta, Purpose: upstream.PurposeUse, Department: q.client.Department, Protocol: models.ProtocolREST}
	ctx = upstream.WithSessionRead(upstream.WithWho(ctx, who), way.Username, way.Session)
	ans, err := c.Forward(ctx, upstream.Credential(way.Username), opMethod(op), PathDevices+string(op), body)
	detail := []any{"operation", string(op), "account", q.client.AccountName, "devices", devs}
	if err == nil {
		outcome := models.OutcomeSuccess
		if ans.Status < 200 || ans.Status > 299 {
			outcome = models.OutcomeFailure
		}
		rid, code := answerFields(op, ans)
		s.audit(q, models.EvGatewayCall, outcome, append(detail, "upstream_status", ans.Status, "request_id", rid, "upstream_code", code)...)
		return ans, nil
	}
	if !thingspace.OutcomeUnknown(err) {
		s.audit(q, models.EvGatewayCall, models.OutcomeFailure, append(detail, "upstream_status", 0, "upstream_code", upstream.Code(err))...)
		return thingspace.RawAnswer{}, unavailable("upstream_login", "The portal could not reach ThingSpace with the department's credential; nothing was sent.")
	}
	status := http.StatusBadGateway
	if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
		status = http.StatusGatewayTimeout
	}
	s.audit(q, models.EvGatewayCall, models.OutcomeFailure, append(detail, "upstream_status", status, "upstream_code", upstream.Code(err), "result", "unknown")...)
	code, msg := "REQUEST_FAILED.OutcomeUnknown", "ThingSpace's answer was lost: the request may or may not have been applied. It was not retried; read the device before trying again."
	if op == models.OpList {
		code, msg = "REQUEST_FAILED.UpstreamUnavailable", "ThingSpace did not answer; try again."
	}
	b, _ := json.Marshal(m2mError{ErrorCode: codePrefix + code, ErrorMessage: msg})
	return thingspace.RawAnswer{Status: status, ContentType: "application/json", Body: b}, nil
}

// answerFields reads the request id and the error code of ThingSpace's
// answer. A list that succeeded holds neither, only its devices, so it is
// not parsed: that cost a third of the gateway's own time on a list.
func answerFields(op models.Operation, ans thingspace.RawAnswer) (requestID, code string) {
	if op == models.OpList && ans.Status >= 200 && ans.Status <= 299 {
		return "", ""
	}
	var a struct {
		RequestID string `json:"requestId"`
		ErrorCode string `json:"errorCode"`
	}
	_ = json.Unmarshal(ans.Body, &a) // either may be absent
	return models.Clip(a.RequestID, 64), models.Clip(a.ErrorCode, 120)
}
