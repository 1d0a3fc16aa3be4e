package models

import (
	"fmt"
	"strconv"
	"time"
)

// Outbound is a notification waiting in the outbox, before it is fanned out
// to channels and people. It is built from an audit event (whose detail
// never holds a secret) or by a scan, and holds only what may be sent.
type Outbound struct {
	Event NotifyEvent
	// DedupeKey makes one outbox row per cause: "audit:<id>" or a scan's key.
	DedupeKey  string
	Department string
	Subject    string
	Text       string
	Link       string // a path in the portal; the sender makes it absolute
	Fields     map[string]string
	// Recipients are people told besides the department's leads; Exclude
	// are people not told (both user ids).
	Recipients []int64
	Exclude    []int64
	Time       time.Time
}

// OutboundFor says whether audit event e (already numbered) deserves a
// notification, and builds it. The audit trail and the outbox are written
// in the same transaction, so a notification exists if and only if its
// event does.
func OutboundFor(e *AuditEvent) (Outbound, bool) {
	o, ok := route(e)
	if !ok {
		return Outbound{}, false
	}
	o.DedupeKey, o.Department, o.Time = "audit:"+strconv.FormatInt(e.ID, 10), e.Department, e.Time
	return o, true
}

// route builds e's notification, if it deserves one; every audit append
// asks, so an event that does not costs nothing.
func route(e *AuditEvent) (Outbound, bool) {
	var o Outbound
	d := e.Department
	switch e.Code {
	case EvQuarantined:
		o.Event, o.Link = NotifyQuarantined, deptLink(d)
		o.Subject = "Credential of " + d + " quarantined"
		o.Text = fmt.Sprintf("%s consecutive failed ThingSpace logins reached the threshold (%s): the portal stopped all automatic use of the credential. An admin must check the password and clear the quarantine.",
			detail(e, "consecutive_failures"), detail(e, "threshold"))
		o.field(e, "consecutive_failures", "threshold", "upstream_code")
	case EvRotateFailed, EvRotateResolved:
		if detail(e, "state") != string(StateAttention) {
			return o, false
		}
		o.Event, o.Link = NotifyAttention, deptLink(d)
		o.Subject = "Credential of " + d + " needs attention"
		o.Text = "A rotation could not confirm which password ThingSpace holds. Nothing more is tried automatically: an admin must set a password in ThingSpace Manage and enter it in the portal."
		o.field(e, "run_id", "upstream_code")
	case EvRotateBackedOff:
		o.Event, o.Link = NotifyRotationFailed, deptLink(d)
		o.Subject = "Scheduled rotation of " + d + " failed"
		o.Text = fmt.Sprintf("The scheduled rotation ended with %q (failure %s in a row); the next attempt is at %s.",
			detail(e, "result"), detail(e, "failures"), detail(e, "next_attempt"))
		o.field(e, "result", "failures", "next_attempt")
	case EvRotateVerified:
		o.Event, o.Link = NotifyRotated, deptLink(d)
		o.Subject = "Password of " + d + " rotated"
		o.Text = "ThingSpace generated a new password; the portal stored it and a login with it worked."
		o.field(e, "run_id", "version")
	case EvBreakGlassSucceeded:
		o.Event, o.Link = NotifyBreakGlass, "/audit/"+strconv.FormatInt(e.ID, 10)
		o.Subject = "Break-glass sign-in by " + detail(e, "username")
		o.Text = "A local admin account signed in without the identity provider, from " + e.SourceIP + "."
		o.field(e, "username")
		o.set("source_ip", e.SourceIP)
	case EvAuditVerified:
		if detail(e, "ok") != "false" {
			return o, false
		}
		o.Event, o.Link = NotifyAuditChain, "/audit/verify"
		o.Subject = "Audit chain verification failed"
		o.Text = "The audit trail's hash chain is broken at event " + detail(e, "first_bad") + ": an event was changed or removed outside the portal."
		o.field(e, "first_bad", "reason")
	case EvDeviceRequestFailed:
		return deviceFailedOutbound(e, o), true
	default:
		return approvalOutbound(e, o)
	}
	return o, true
}

// deviceFailedOutbound tells the department's channels and the person who
// asked (the event is written in their name) that ThingSpace failed a request.
func deviceFailedOutbound(e *AuditEvent, o Outbound) Outbound {
	o.Event, o.Link = NotifyDeviceFailed, "/departments/"+e.Department+"/requests"
	o.Subject = fmt.Sprintf("%s of %s failed in %s", detail(e, "operation"), detail(e, "devices"), e.Department)
	o.Text = fmt.Sprintf("ThingSpace reported that the %s asked by %s failed: %s", detail(e, "operation"), e.ActorName, detail(e, "fault"))
	o.field(e, "request_id", "operation", "devices", "how", "fault")
	o.set("requester", e.ActorName)
	if who, err := strconv.ParseInt(e.Actor, 10, 64); err == nil && who > 0 {
		o.Recipients = []int64{who}
	}
	return o
}

// approvalOutbound routes the approval events: a request to its approvers
// (not the requester), a decision or expiry to the requester.
func approvalOutbound(e *AuditEvent, o Outbound) (Outbound, bool) {
	id, requester := detail(e, "approval_id"), detail(e, "requester")
	o.Link = "/approvals/" + id
	o.field(e, "approval_id", "action", "requester_name")
	who, _ := strconv.ParseInt(requester, 10, 64)
	switch e.Code {
	case EvApprovalRequested:
		o.Event = NotifyApprovalRequested
		o.Subject = fmt.Sprintf("%s asks to %s in %s", detail(e, "requester_name"), detail(e, "action"), e.Department)
		o.Text = "Reason given: " + detail(e, "reason") + "\nAn approver other than the requester must approve or refuse the request."
		o.field(e, "reason")
		if who != 0 {
			o.Exclude = []int64{who}
		}
	case EvApprovalApproved, EvApprovalRefused, EvApprovalExpired:
		verb := map[string]string{EvApprovalApproved: "approved", EvApprovalRefused: "refused", EvApprovalExpired: "expired"}[e.Code]
		o.Event = NotifyApprovalDecided
		o.Subject = fmt.Sprintf("Request to %s in %s %s", detail(e, "action"), e.Department, verb)
		o.Text = fmt.Sprintf("The request by %s was %s.", detail(e, "requester_name"), verb)
		if e.Code != EvApprovalExpired {
			o.Text += " Decided by " + e.ActorName + "."
			o.field(e, "note")
		}
		o.set("decision", verb)
		if who != 0 {
			o.Recipients = []int64{who}
		}
	default:
		return o, false
	}
	return o, true
}

func (o *Outbound) field(e *AuditEvent, keys ...string) {
	for _, k := range keys {
		if v := detail(e, k); v != "" {
			o.set(k, Clip(v, 500))
		}
	}
}

func (o *Outbound) set(k, v string) {
	if o.Fields == nil {
		o.Fields = map[string]string{}
	}
	o.Fields[k] = v
}

func detail(e *AuditEvent, k string) string {
	v, ok := e.Detail[k]
	if !ok || v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func deptLink(slug string) string { return "/departments/" + slug }
