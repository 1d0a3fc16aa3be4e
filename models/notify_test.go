package models

import (
	"strings"
	"testing"
)

func TestOutboundForRoutesEvents(t *testing.T) {
	ev := func(code string, kv ...any) *AuditEvent {
		e := NewEvent(code, nil, RequestMeta{SourceIP: "192.0.2.9"}).With(kv...)
		e.ID, e.Department = 42, "fleet"
		return e
	}
	cases := []struct {
		e    *AuditEvent
		want NotifyEvent // "" for none
	}{
		{ev(EvQuarantined, "consecutive_failures", 2, "threshold", 2), NotifyQuarantined},
		{ev(EvRotateFailed, "state", "attention"), NotifyAttention},
		{ev(EvRotateFailed, "state", "idle"), ""},
		{ev(EvRotateResolved, "state", "attention"), NotifyAttention},
		{ev(EvRotateResolved, "state", "idle"), ""},
		{ev(EvRotateBackedOff, "result", "rejected", "failures", 1), NotifyRotationFailed},
		{ev(EvRotateVerified, "run_id", 3), NotifyRotated},
		{ev(EvRotateStarted), ""},
		{ev(EvBreakGlassSucceeded, "username", "root"), NotifyBreakGlass},
		{ev(EvBreakGlassFailed, "username", "root"), ""},
		{ev(EvAuditVerified, "ok", true), ""},
		{ev(EvAuditVerified, "ok", false, "first_bad", 7), NotifyAuditChain},
		{ev(EvApprovalRequested, "approval_id", 5, "requester", 9, "reason", "r"), NotifyApprovalRequested},
		{ev(EvApprovalApproved, "approval_id", 5, "requester", 9), NotifyApprovalDecided},
		{ev(EvApprovalRefused, "approval_id", 5, "requester", 9), NotifyApprovalDecided},
		{ev(EvApprovalExpired, "approval_id", 5, "requester", 9), NotifyApprovalDecided},
		{ev(EvSignInSucceeded), ""},
		{ev(EvCredentialRevealed, "reason", "x"), ""},
	}
	for _, c := range cases {
		o, ok := OutboundFor(c.e)
		if ok != (c.want != "") || o.Event != c.want {
			t.Errorf("%s %v: got %q %v, want %q", c.e.Code, c.e.Detail, o.Event, ok, c.want)
			continue
		}
		if ok && (o.DedupeKey != "audit:42" || o.Subject == "" || o.Text == "" || !strings.HasPrefix(o.Link, "/")) {
			t.Errorf("%s: incomplete %+v", c.e.Code, o)
		}
	}
	req, _ := OutboundFor(ev(EvApprovalRequested, "approval_id", 5, "requester", 9))
	dec, _ := OutboundFor(ev(EvApprovalApproved, "approval_id", 5, "requester", 9))
	if len(req.Exclude) != 1 || req.Exclude[0] != 9 || len(req.Recipients) != 0 {
		t.Errorf("a request must not go to its requester: %+v", req)
	}
	if len(dec.Recipients) != 1 || dec.Recipients[0] != 9 || dec.Link != "/approvals/5" {
		t.Errorf("a decision must reach its requester: %+v", dec)
	}
}
