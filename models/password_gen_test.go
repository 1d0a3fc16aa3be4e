package models

import (
	"strings"
	"testing"
)

// A generated password always meets the policy, for the username too; a
// random run that holds a common sequence (12345, abcd, qwerty) is drawn
// again. The old generators failed about once in a few hundred draws.
func TestGeneratedPasswordsMeetThePolicy(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 3000 {
		pw := GeneratePassword("Seed", "dept01_mycompanyUWS")
		if err := ValidatePassword(pw, "dept01_mycompanyUWS"); err != nil {
			t.Fatalf("%q: %v", pw, err)
		}
		if !strings.HasPrefix(pw, "Seed-") || seen[pw] {
			t.Fatalf("%q: not prefixed, or drawn twice", pw)
		}
		seen[pw] = true
	}
}
