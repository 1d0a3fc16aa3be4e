package models

import (
	"strings"
	"time"
	"unicode/utf8"
)

// CredentialState is where a credential stands in the rotation state
// machine (docs/design.md).
type CredentialState string

const (
	StateIdle        CredentialState = "idle"
	StateResetting   CredentialState = "resetting"
	StateVerifying   CredentialState = "verifying"
	StateUnknown     CredentialState = "unknown"
	StateAttention   CredentialState = "attention"
	StateQuarantined CredentialState = "quarantined"
)

// Rotating reports whether a rotation owns the credential.
func (s CredentialState) Rotating() bool {
	return s == StateResetting || s == StateVerifying || s == StateUnknown
}

// RotationTrigger says who started a rotation.
type RotationTrigger string

const (
	TriggerManual    RotationTrigger = "manual"
	TriggerScheduled RotationTrigger = "scheduled"
	TriggerCLI       RotationTrigger = "cli"
)

// Rotation run results.
const (
	RunRunning    = "running"
	RunRotated    = "rotated"     // new password stored and verified
	RunRejected   = "rejected"    // ThingSpace refused the reset; nothing changed
	RunUnknown    = "unknown"     // the answer was lost; being resolved
	RunResolving  = "resolving"   // the answer was lost; the one check with the old password is under way
	RunNotRotated = "not_rotated" // answer lost, but the old password still works
	RunAttention  = "attention"   // an administrator must act
)

// Status buckets for the dashboard.
const (
	StatusOK          = "ok"
	StatusDueSoon     = "due-soon"
	StatusOverdue     = "overdue"
	StatusQuarantined = "quarantined"
	StatusAttention   = "attention"
	StatusNone        = "none"
)

// DueSoonWindow is how long before its maximum age a credential shows as
// due soon.
const DueSoonWindow = 14 * 24 * time.Hour

// CredentialStatus is what a person may see of a credential: never the
// password.
type CredentialStatus struct {
	Department          string          `json:"department"`
	DepartmentName      string          `json:"department_name"`
	Protocol            Protocol        `json:"protocol"`
	HasCredential       bool            `json:"has_credential"`
	Username            string          `json:"username,omitempty"`
	State               CredentialState `json:"state,omitempty"`
	Status              string          `json:"status"`
	Version             int             `json:"version,omitempty"`
	ConsecutiveFailures int             `json:"consecutive_failures"`
	PasswordChangedAt   *time.Time      `json:"password_changed_at,omitempty"`
	Age                 time.Duration   `json:"age_ns,omitempty"`
	NextDue             *time.Time      `json:"next_due,omitempty"`
	LastRotatedAt       *time.Time      `json:"last_rotated_at,omitempty"`
	LastVerifiedAt      *time.Time      `json:"last_verified_at,omitempty"`
	LastResult          string          `json:"last_result,omitempty"`
	LastUpstreamCode    string          `json:"last_upstream_code,omitempty"`
	ScheduleEnabled     bool            `json:"schedule_enabled"`
	MaxAgeDays          int             `json:"max_age_days"`
	RevealAllowed       bool            `json:"reveal_allowed"`
	// Advice tells an administrator what to do when the credential needs
	// them (attention, quarantine).
	Advice string `json:"advice,omitempty"`
}

// AgeDays is the password's age in whole days.
func (c CredentialStatus) AgeDays() int { return int(c.Age / (24 * time.Hour)) }

// StatusBucket places a credential in a dashboard bucket.
func StatusBucket(state CredentialState, changedAt time.Time, maxAgeDays int, now time.Time) string {
	switch state {
	case StateQuarantined:
		return StatusQuarantined
	case StateAttention, StateUnknown:
		return StatusAttention
	}
	due := changedAt.Add(time.Duration(maxAgeDays) * 24 * time.Hour)
	switch {
	case !now.Before(due):
		return StatusOverdue
	case due.Sub(now) <= DueSoonWindow:
		return StatusDueSoon
	}
	return StatusOK
}

// RotationRun is one attempt to rotate a credential, for its history.
type RotationRun struct {
	ID           int64           `json:"id"`
	Actor        string          `json:"actor"`
	ActorName    string          `json:"actor_name"`
	Trigger      RotationTrigger `json:"trigger"`
	StartedAt    time.Time       `json:"started_at"`
	EndedAt      *time.Time      `json:"ended_at,omitempty"`
	Result       string          `json:"result"`
	UpstreamCode string          `json:"upstream_code,omitempty"`
	Detail       string          `json:"detail,omitempty"`
}

// DepartmentView is one department with its credential status and history.
type DepartmentView struct {
	Department Department
	Credential CredentialStatus
	Runs       []RotationRun
}

// ValidateUsername checks a UWS username: 1 to 128 printable characters
// without spaces (ThingSpace's own format is like michelle_brown_my_companyUWS).
func ValidateUsername(u string) error {
	if u == "" || len(u) > 128 || !utf8.ValidString(u) || hasControl(u) || strings.ContainsAny(u, " \t") {
		return Invalidf("username", "The username must be 1 to 128 printable characters without spaces.")
	}
	return nil
}

// ValidateReason checks the reason given for a reveal: 1 to 500 characters.
func ValidateReason(r string) (string, error) {
	r = strings.TrimSpace(r)
	if r == "" || utf8.RuneCountInString(r) > 500 || !utf8.ValidString(r) {
		return "", Errorf(ErrInvalid, "Give a reason of 1 to 500 characters.")
	}
	return r, nil
}

// AttentionAdvice is what an administrator must do with a credential whose
// password the portal no longer knows.
func AttentionAdvice(username string) string {
	return "Set a new password for " + username + " in ThingSpace Manage (Admin → Users → the Unified Web Services user), then enter it here with Replace credential."
}

// QuarantineAdvice is what an administrator must do with a quarantined
// credential.
func QuarantineAdvice(username string) string {
	return "The portal stopped using " + username + " after repeated failed logins. Check the password in ThingSpace Manage (Admin → Users → the Unified Web Services user); set a new one there and enter it here with Replace credential, or clear the quarantine if the cause is fixed."
}
