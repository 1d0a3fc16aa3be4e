package models

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// APIClient is an application's way into the gateway: one department, an
// accountable person, the operations it may do, an expiry. Its secret is
// never kept, only its hash (in the store).
type APIClient struct {
	ID         string
	Department string
	Name       string
	OwnerName  string
	OwnerEmail string
	Operations []Operation
	CreatedBy  string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	RevokedAt  *time.Time
	// PrevUntil is when the secret replaced by a rotation stops working.
	PrevUntil *time.Time
	// Role is the role its maker held in the department (admin or lead):
	// the client never does more than the department's policy grants it.
	Role Role
	// Granted is what the department's policy grants Role now, read with
	// the client (never cached).
	Granted []Operation
}

// Client lifetimes and overlaps.
const (
	DefaultClientLifetime = 90 * 24 * time.Hour
	MaxClientLifetime     = 366 * 24 * time.Hour
	MaxSecretOverlap      = 24 * time.Hour
)

// Active reports whether the client may be used at now.
func (c APIClient) Active(now time.Time) bool {
	return c.RevokedAt == nil && now.Before(c.ExpiresAt)
}

// Status is the client's state in words.
func (c APIClient) Status(now time.Time) string {
	switch {
	case c.RevokedAt != nil:
		return "revoked"
	case !now.Before(c.ExpiresAt):
		return "expired"
	}
	return "active"
}

// Allows reports whether the client may do op now: it was given op and
// the department's current policy grants op to the role of its maker.
func (c APIClient) Allows(op Operation) bool {
	return slices.Contains(c.Operations, op) && (c.Role == RoleAdmin || slices.Contains(c.Granted, op))
}

// Effective are the operations the client may do now (see Allows).
func (c APIClient) Effective() []Operation {
	out := []Operation{}
	for _, op := range c.Operations {
		if c.Allows(op) {
			out = append(out, op)
		}
	}
	return out
}

// MakerRole is the role whose policy bounds a client p makes for dept:
// admin for a global admin (the command line included), else lead.
func MakerRole(p *Principal) Role {
	for _, g := range p.Grants {
		if g.Role == RoleAdmin && g.Department == "" {
			return RoleAdmin
		}
	}
	return RoleLead
}

// Owner names the accountable person.
func (c APIClient) Owner() string {
	if c.OwnerName == "" {
		return c.OwnerEmail
	}
	return c.OwnerName + " <" + c.OwnerEmail + ">"
}

// ParseOperations reads a comma-separated list of operations, without
// duplicates, in the canonical order.
func ParseOperations(s string) ([]Operation, error) {
	var got []Operation
	for _, f := range strings.Split(s, ",") {
		if strings.TrimSpace(f) == "" {
			continue
		}
		op, err := ParseOperation(f)
		if err != nil {
			return nil, err
		}
		got = append(got, op)
	}
	out := []Operation{}
	for _, op := range Operations {
		if slices.Contains(got, op) {
			out = append(out, op)
		}
	}
	if len(out) == 0 {
		return nil, Errorf(ErrInvalid, "Give at least one operation (list, suspend, restore, activate, plan, deactivate).")
	}
	return out, nil
}

// OpNames are ops as text.
func OpNames(ops []Operation) []string {
	out := make([]string, 0, len(ops))
	for _, op := range ops {
		out = append(out, string(op))
	}
	return out
}

// ParseSpan reads a span given as days ("90d") or as a Go duration
// ("1h", "30m"); "" is 0.
func ParseSpan(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 3660 {
			return 0, Errorf(ErrInvalid, "%q is not a number of days.", ClipMark(s, 20))
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, Errorf(ErrInvalid, "%q is not a duration (such as 90d, 24h or 30m).", ClipMark(s, 20))
	}
	return d, nil
}
