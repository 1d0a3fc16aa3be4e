package models

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
)

// GeneratePassword returns a fresh random password that meets the
// ThingSpace policy for username (seeds, the demo, tests): prefix, random
// letters and digits, "!q". A draw that breaks the policy, such as one
// holding a common sequence like 12345, is drawn again.
func GeneratePassword(prefix, username string) string {
	for {
		b := make([]byte, 12)
		_, _ = rand.Read(b) // never fails (crypto/rand)
		r := base64.RawURLEncoding.EncodeToString(b)
		pw := prefix + "-" + strings.ToUpper(r[:6]) + "-" + r[6:16] + "!q"
		if ValidatePassword(pw, username) == nil {
			return pw
		}
	}
}
