package models

import "slices"

// Role is an application role. Admin and auditor are global; lead and member
// are held per department.
type Role string

const (
	RoleAdmin   Role = "admin"
	RoleAuditor Role = "auditor"
	RoleLead    Role = "lead"
	RoleMember  Role = "member"
)

// Roles lists every role in display order.
var Roles = []Role{RoleAdmin, RoleAuditor, RoleLead, RoleMember}

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if !slices.Contains(Roles, r) {
		return "", Invalidf("role", "unknown role %q: use admin, auditor, lead or member", ClipMark(s, 40))
	}
	return r, nil
}

// Global reports whether the role applies to every department.
func (r Role) Global() bool { return r == RoleAdmin || r == RoleAuditor }

// Grant is one role held by a person, in one department for lead and member.
type Grant struct {
	Role       Role   `json:"role"`
	Department string `json:"department,omitempty"`
}

func (g Grant) String() string {
	if g.Department == "" {
		return string(g.Role)
	}
	return string(g.Role) + ":" + g.Department
}
