package models

import (
	"strings"
	"testing"
)

// FuzzDepartmentValidate: an accepted department form has a URL-safe slug,
// a printable name of bounded length and a known protocol.
func FuzzDepartmentValidate(f *testing.F) {
	f.Add("fleet", "Fleet Operations", "rest", 90)
	f.Add("x", "a\u202eb", "soap", 0)
	f.Add("-bad", "", "ftp", -1)
	f.Fuzz(func(t *testing.T, slug, name, protocol string, maxAge int) {
		d := Department{Slug: slug, Name: name, Protocol: Protocol(protocol), MaxAgeDays: maxAge}
		if d.Validate() != nil {
			return
		}
		if !ValidSlug(d.Slug) || d.Name == "" || len(d.Name) > 200 || hasControl(d.Name) ||
			(d.Protocol != ProtocolREST && d.Protocol != ProtocolSOAP) || d.MaxAgeDays < 1 || d.MaxAgeDays > 3650 {
			t.Fatalf("accepted %+v", d)
		}
	})
}

// FuzzMappingValidate: an accepted mapping has a visible group name, a
// known role, and a department exactly when the role needs one.
func FuzzMappingValidate(f *testing.F) {
	f.Add("fleet-leads", "lead", "fleet")
	f.Add("admins", "admin", "")
	f.Add("x\u200by", "auditor", "")
	f.Fuzz(func(t *testing.T, group, role, dept string) {
		m := Mapping{Group: group, Role: Role(role), Department: dept}
		if m.Validate() != nil {
			return
		}
		g := strings.TrimSpace(group)
		if g == "" || len(g) > 256 || hasControl(g) {
			t.Fatalf("accepted group %q", group)
		}
		if _, err := ParseRole(role); err != nil || m.Role.Global() != (dept == "") {
			t.Fatalf("accepted %+v", m)
		}
	})
}
