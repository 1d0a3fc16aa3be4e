package models

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// NotifyEvent names a kind of notification. The names are an interface
// (`notify add --events`, the webhook's "event" field): never rename one.
type NotifyEvent string

const (
	NotifyQuarantined       NotifyEvent = "quarantined"
	NotifyAttention         NotifyEvent = "attention"
	NotifyRotationFailed    NotifyEvent = "rotation-failed"
	NotifyDue               NotifyEvent = "due"
	NotifyRotated           NotifyEvent = "rotated"
	NotifyBreakGlass        NotifyEvent = "break-glass"
	NotifyAuditChain        NotifyEvent = "audit-chain"
	NotifyApprovalRequested NotifyEvent = "approval-requested"
	NotifyApprovalDecided   NotifyEvent = "approval-decided"
	NotifyAPIClientExpiring NotifyEvent = "api-client-expiring"
	NotifyDeviceFailed      NotifyEvent = "device-failed"
)

// NotifyEvents lists every notification event, in the order pages show them.
var NotifyEvents = []NotifyEvent{
	NotifyQuarantined, NotifyAttention, NotifyRotationFailed, NotifyDue, NotifyRotated,
	NotifyBreakGlass, NotifyAuditChain, NotifyApprovalRequested, NotifyApprovalDecided,
	NotifyAPIClientExpiring, NotifyDeviceFailed,
}

// ParseNotifyEvents reads a comma-separated list of event names; empty
// means every event (nil).
func ParseNotifyEvents(s string) ([]NotifyEvent, error) {
	var out []NotifyEvent
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		ev := NotifyEvent(f)
		if !slices.Contains(NotifyEvents, ev) {
			return nil, Invalidf("events", "unknown notification event %q (known: %s)", f, NotifyEventNames())
		}
		if !slices.Contains(out, ev) {
			out = append(out, ev)
		}
	}
	return out, nil
}

// NotifyEventNames is every event name, comma-separated.
func NotifyEventNames() string {
	s := make([]string, len(NotifyEvents))
	for i, e := range NotifyEvents {
		s[i] = string(e)
	}
	return strings.Join(s, ",")
}

// ChannelKind is how a channel delivers.
type ChannelKind string

const (
	ChannelWebhook ChannelKind = "webhook" // JSON, HMAC-SHA256 signed
	ChannelSlack   ChannelKind = "slack"   // Slack-compatible incoming webhook
	ChannelTeams   ChannelKind = "teams"   // Microsoft Teams-compatible incoming webhook
	ChannelEmail   ChannelKind = "email"   // SMTP with STARTTLS
)

// ChannelKinds lists the kinds.
var ChannelKinds = []ChannelKind{ChannelWebhook, ChannelSlack, ChannelTeams, ChannelEmail}

// ParseChannelKind validates a kind name.
func ParseChannelKind(s string) (ChannelKind, error) {
	k := ChannelKind(strings.ToLower(strings.TrimSpace(s)))
	if !slices.Contains(ChannelKinds, k) {
		return "", Invalidf("kind", "unknown channel kind %q: use webhook, slack, teams or email", s)
	}
	return k, nil
}

// Notification is one message to one channel or person. It never holds a
// secret: only names, states, counts, times and a link into the portal.
type Notification struct {
	// DeliveryID is unique per event and destination; it is the same on
	// every retry, so a receiver drops repeats by it.
	DeliveryID int64
	Event      NotifyEvent
	Department string // slug; "" for portal-wide events
	Subject    string // one line
	Text       string // plain text, a few lines
	Link       string // absolute URL into the portal, or ""
	Time       time.Time
	// Fields are safe details (state, counts, run id, the person's name).
	Fields map[string]string
}

// Summary is the notification as one line, for logs and test failures.
func (n Notification) Summary() string {
	return fmt.Sprintf("#%d %s %s: %s", n.DeliveryID, n.Event, n.Department, n.Subject)
}

// OutboundNetwork is a private network an administrator allowed, by name,
// for notification targets (and API clients' callback URLs): without one,
// loopback, link-local and private addresses are refused.
type OutboundNetwork struct {
	ID      int64
	Name    string
	Network string // CIDR
	AddedBy string
	AddedAt time.Time
}
