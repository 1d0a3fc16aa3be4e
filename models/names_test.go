package models

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// Department and group names refuse the characters that make a name read
// differently from what it is.
func TestNamesRefuseInvisibleCharacters(t *testing.T) {
	for _, name := range []string{"Fleet\u202eSTEL", "Fleet\u2066x", "Fle\u200bet", "Fleet\ufeff", "Fle\u0085et"} {
		d := Department{Slug: "fleet", Name: name}
		if err := d.Validate(); err == nil {
			t.Errorf("department name %q accepted", name)
		}
		if err := (Mapping{Group: name, Role: RoleAuditor}).Validate(); err == nil {
			t.Errorf("group name %q accepted", name)
		}
	}
	d := Department{Slug: "fleet", Name: "Flotte Île-de-France"}
	if err := d.Validate(); err != nil {
		t.Errorf("an ordinary accented name was refused: %v", err)
	}
}

// FuzzValidReason: an accepted reason is trimmed, long enough, short
// enough and free of control and invisible characters.
func FuzzValidReason(f *testing.F) {
	for _, s := range []string{"", "x", "incident 4711", "  ticket   42  ", "a\u202eb c d e f g", strings.Repeat("é", 600)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := ValidReason(in)
		if err != nil {
			if out != "" {
				t.Fatalf("refused %q but returned %q", in, out)
			}
			return
		}
		n := utf8.RuneCountInString(out)
		if out != strings.TrimSpace(out) || n < RevealReasonMin || n > 500 || hasControl(out) {
			t.Fatalf("ValidReason(%q) accepted %q", in, out)
		}
	})
}
