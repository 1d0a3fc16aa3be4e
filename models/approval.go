package models

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// ApprovalAction is an action a department may put under dual control.
// The names are the same everywhere: settings, audit details, pages.
type ApprovalAction string

const (
	ApproveReveal     ApprovalAction = "reveal"
	ApproveDeactivate ApprovalAction = "deactivate"
	// ApproveRotate covers a person's "rotate now" only: the scheduler,
	// recovery and the command line never need an approval.
	ApproveRotate ApprovalAction = "rotate"
)

// DualControlApplies reports whether dual control governs p: people at
// the portal, not the operator at the command line, who holds the master
// key and could decrypt the credential anyway (audited as cli:<user>).
func DualControlApplies(p *Principal) bool {
	return !strings.HasPrefix(p.Actor, ActorCLIPrefix)
}

// ApprovalActions lists them in the order pages show them.
var ApprovalActions = []ApprovalAction{ApproveReveal, ApproveDeactivate, ApproveRotate}

// ParseApprovalAction reads an action name.
func ParseApprovalAction(s string) (ApprovalAction, error) {
	a := ApprovalAction(strings.TrimSpace(s))
	if !slices.Contains(ApprovalActions, a) {
		return "", Errorf(ErrInvalid, "Unknown action %q: approval covers reveal, deactivate and rotate.", ClipMark(s, 20))
	}
	return a, nil
}

// ApprovalRules are a department's dual-control settings: which actions
// need a second person's approval. All off by default.
type ApprovalRules struct {
	Reveal, Deactivate, Rotate bool
}

// Requires reports whether action needs an approval under the rules.
func (r ApprovalRules) Requires(a ApprovalAction) bool {
	switch a {
	case ApproveReveal:
		return r.Reveal
	case ApproveDeactivate:
		return r.Deactivate
	case ApproveRotate:
		return r.Rotate
	}
	return false
}

// Set makes action need an approval (on) or not.
func (r *ApprovalRules) Set(a ApprovalAction, on bool) {
	switch a {
	case ApproveReveal:
		r.Reveal = on
	case ApproveDeactivate:
		r.Deactivate = on
	case ApproveRotate:
		r.Rotate = on
	}
}

// ApprovalState is where a request for approval stands.
type ApprovalState string

const (
	ApprovalPending  ApprovalState = "pending"
	ApprovalApproved ApprovalState = "approved"
	ApprovalRefused  ApprovalState = "refused"
	ApprovalExpired  ApprovalState = "expired"
	ApprovalUsed     ApprovalState = "used"
)

// ApprovalPendingTTL is how long a request waits for a decision before it
// expires. (How long a granted approval stays valid is the configurable
// window, UWSPORTAL_APPROVAL_WINDOW.)
const ApprovalPendingTTL = 24 * time.Hour

// DefaultApprovalWindow is how long an approval stays valid once granted.
const DefaultApprovalWindow = time.Hour

// Approval is one person's request to do one action, and its decision.
type Approval struct {
	ID             int64
	DepartmentID   int64
	Department     string // slug
	DepartmentName string
	Action         ApprovalAction
	// Devices are the exact devices of a deactivate, canonical (sorted).
	Devices       []DeviceID
	Requester     string // the requester's actor: their user id as text
	RequesterName string
	Reason        string
	State         ApprovalState // as stored; see StateAt
	RequestedAt   time.Time
	DecidedBy     string
	DeciderName   string
	DecidedAt     *time.Time
	Note          string
	// ExpiresAt is when a pending request lapses, or, once approved,
	// when the approval stops being valid.
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// StateAt is the state as of now: a pending or approved request past its
// time is expired even before the sweep marks it so.
func (a *Approval) StateAt(now time.Time) ApprovalState {
	if (a.State == ApprovalPending || a.State == ApprovalApproved) && !now.Before(a.ExpiresAt) {
		return ApprovalExpired
	}
	return a.State
}

// DeviceList is the devices as text ("kind:id, …"), for pages and audit.
func (a *Approval) DeviceList() string { return strings.Join(DeviceKeys(a.Devices), ", ") }

// DeviceKeys are devices as "kind:id", sorted and without duplicates: the
// canonical form an approval is stored and matched in.
func DeviceKeys(ids []DeviceID) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, id.Kind+":"+id.ID)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// CanonicalDevices is the stored form of a device list.
func CanonicalDevices(ids []DeviceID) string { return strings.Join(DeviceKeys(ids), ",") }

// ParseCanonicalDevices reads the stored form back.
func ParseCanonicalDevices(s string) []DeviceID {
	var out []DeviceID
	for _, f := range strings.Split(s, ",") {
		if kind, id, ok := strings.Cut(f, ":"); ok {
			out = append(out, DeviceID{Kind: kind, ID: id})
		}
	}
	return out
}

// ValidateNote checks an approver's optional note (trimmed, at most 500
// characters).
func ValidateNote(s string) (string, error) {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > 500 || !utf8.ValidString(s) {
		return "", Errorf(ErrInvalid, "The note must be at most 500 characters.")
	}
	return s, nil
}
