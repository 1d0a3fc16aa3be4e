package models

import (
	"strings"
	"time"
)

// RequestStatus is where a device request sent upstream stands.
type RequestStatus string

const (
	RequestPending   RequestStatus = "pending"   // ThingSpace queued it; no outcome yet
	RequestSucceeded RequestStatus = "succeeded" // ThingSpace says it was done
	RequestFailed    RequestStatus = "failed"    // ThingSpace says it failed, or refused it at once
	RequestUnknown   RequestStatus = "unknown"   // the send's answer was lost, or nobody learned the outcome within a day
)

// How a request's outcome became known.
const (
	EndedByAnswer   = "answer"   // ThingSpace refused the send itself
	EndedByCallback = "callback" // a CarrierService message
	EndedByPoll     = "poll"     // a status read (or, without a request id, a read of the device)
)

// DeviceRequest is one action sent upstream and what became of it.
type DeviceRequest struct {
	ID         int64
	RequestID  string // ThingSpace's; "" when the send's answer was lost
	Department string
	Account    string
	Actor      string // the audit actor: a user id, "cli:…" or "api-client:…"
	ActorName  string
	UserID     int64  // the person who asked (0: not a person)
	ClientID   string // the API client that asked ("" : not an application)
	Operation  Operation
	Devices    []DeviceID
	SentAt     time.Time
	Status     RequestStatus
	EndedAt    *time.Time
	EndedBy    string
	Fault      string // ThingSpace's fault text, for a failure
	FirstEvent int64  // the audit event that recorded the send
	Polls      int
	NextPollAt *time.Time
}

// Open reports whether the request still waits for an outcome.
func (r DeviceRequest) Open() bool { return r.Status == RequestPending || r.Status == RequestUnknown }

// Took is how long the request took to end (0 while open).
func (r DeviceRequest) Took() time.Duration {
	if r.EndedAt == nil {
		return 0
	}
	return r.EndedAt.Sub(r.SentAt)
}

// Principal is who asked, for events written later in their name.
func (r DeviceRequest) Principal() *Principal {
	return &Principal{UserID: r.UserID, Actor: r.Actor, Name: r.ActorName}
}

// PollGiveUp is how long the portal asks about a request before calling
// its outcome unknown.
const PollGiveUp = 24 * time.Hour

// pollSteps are the waits after sending before the first status reads;
// then every pollEvery until PollGiveUp.
var pollSteps = []time.Duration{10 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute}

const pollEvery = 30 * time.Minute

// NextPoll is when to ask about a request sent at sent after polls status
// reads, and false once it is time to give up.
func NextPoll(sent time.Time, polls int) (time.Time, bool) {
	var at time.Time
	if polls < len(pollSteps) {
		at = sent.Add(pollSteps[polls])
	} else {
		at = sent.Add(pollSteps[len(pollSteps)-1] + time.Duration(polls-len(pollSteps)+1)*pollEvery)
	}
	if at.After(sent.Add(PollGiveUp)) {
		return time.Time{}, false
	}
	return at, true
}

// RequestOutcome reads ThingSpace's status words: the status endpoint's
// "Pending"/"Success"/"Failure" and a callback's "Success"/"Failed".
// Open is true for a status that is not an outcome.
func RequestOutcome(status string) (s RequestStatus, open bool) {
	switch strings.ToLower(strings.TrimSpace(status)) {
	case "success", "succeeded", "completed", "complete":
		return RequestSucceeded, false
	case "failure", "failed", "fail", "error":
		return RequestFailed, false
	}
	return RequestPending, true
}

// ExpectedState is the device state a successful op leaves ("" when the
// state cannot tell: a plan change).
func ExpectedState(op Operation) string {
	switch op {
	case OpSuspend:
		return "suspend"
	case OpRestore, OpActivate:
		return "active"
	case OpDeactivate:
		return "deactive"
	}
	return ""
}
