package models

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// User is a person known to the portal, keyed by issuer and subject.
type User struct {
	ID         int64
	Issuer     string
	Subject    string
	Name       string
	Email      string
	Groups     []string
	Disabled   bool
	CreatedAt  time.Time
	LastSignIn *time.Time
	Grants     []Grant
}

// IssuerLocal marks break-glass local accounts.
const IssuerLocal = "local"

// Mapping grants a role (in a department, for lead and member) to everyone
// in an IdP group.
type Mapping struct {
	ID         int64
	Group      string
	Role       Role
	Department string
	CreatedAt  time.Time
	CreatedBy  string
}

// Validate checks a mapping before it is stored.
func (m Mapping) Validate() error {
	m.Group = strings.TrimSpace(m.Group)
	switch {
	case m.Group == "" || len(m.Group) > 256:
		return Invalidf("group", "The group name must be 1 to 256 characters.")
	case hasControl(m.Group):
		return Invalidf("group", "The group name must not contain control characters.")
	}
	if _, err := ParseRole(string(m.Role)); err != nil {
		return err
	}
	if m.Role.Global() && m.Department != "" {
		return Invalidf("department", "The %s role is global: leave the department empty.", m.Role)
	}
	if !m.Role.Global() && m.Department == "" {
		return Invalidf("department", "The %s role needs a department.", m.Role)
	}
	return nil
}

// GrantsFor computes a person's grants from their groups, the stored
// mappings and the bootstrap admin groups. Duplicates are removed.
func GrantsFor(groups []string, mappings []Mapping, adminGroups []string) []Grant {
	in := map[string]bool{}
	for _, g := range groups {
		in[g] = true
	}
	seen := map[Grant]bool{}
	var out []Grant
	add := func(g Grant) {
		if !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	for _, g := range adminGroups {
		if in[g] {
			add(Grant{Role: RoleAdmin})
		}
	}
	for _, m := range mappings {
		if in[m.Group] {
			add(Grant{Role: m.Role, Department: m.Department})
		}
	}
	return out
}

var slugRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ValidSlug reports whether s can name a department in URLs.
func ValidSlug(s string) bool { return slugRe.MatchString(s) }

// hasControl reports control characters and the invisible ones that make
// a name read differently from what it is: bidirectional overrides and
// isolates (Trojan Source) and zero-width characters.
func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || invisible(r) {
			return true
		}
	}
	return false
}

func invisible(r rune) bool {
	switch {
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true // bidirectional formatting
	case r >= 0x200b && r <= 0x200d, r == 0x2060, r == 0xfeff, r == 0x00ad, r == 0x180e:
		return true // zero-width and soft hyphen
	}
	return false
}

// ValidReason checks a reason a person gives for an audited action: at
// least RevealReasonMin visible characters, at most 500, no control or
// invisible characters. It returns the reason trimmed.
func ValidReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	n := utf8.RuneCountInString(reason)
	switch {
	case n < RevealReasonMin:
		return "", Errorf(ErrInvalid, "Give a reason of at least %d characters (a ticket or incident number and why).", RevealReasonMin)
	case n > 500:
		return "", Errorf(ErrInvalid, "The reason must be at most 500 characters.")
	case hasControl(reason):
		return "", Errorf(ErrInvalid, "The reason must not contain control or invisible characters.")
	}
	return reason, nil
}

// RevealReasonMin is the shortest reason accepted for a reveal.
const RevealReasonMin = 10
