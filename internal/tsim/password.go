package tsim

import (
	"crypto/rand"
	"strings"
	"unicode"
)

const (
	pwLower   = "abcdefghijkmnopqrstuvwxyz"
	pwUpper   = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	pwDigits  = "23456789"
	pwSymbols = "!#$%&*+-=?@^_~"
	pwAlpha   = pwLower + pwUpper + pwDigits + pwSymbols
	pwLength  = 16
)

// newPassword generates a password as ThingSpace does on reset: random
// (crypto/rand) and meeting the policy (MeetsPolicy).
func newPassword() string {
	for {
		b := make([]byte, pwLength)
		for i := range b {
			b[i] = pwAlpha[randIndex(len(pwAlpha))]
		}
		if p := string(b); MeetsPolicy(p) {
			return p
		}
	}
}

// randIndex returns a uniform index in [0, n) for n <= 256.
func randIndex(n int) int {
	limit := 256 - 256%n // reject the biased tail
	var b [1]byte
	for {
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}

// MeetsPolicy reports whether p has a lower-case letter, an upper-case
// letter, a digit and a symbol, at least 12 characters, and no run of four
// repeated or consecutive characters ("aaaa", "1234", "dcba").
func MeetsPolicy(p string) bool {
	if len(p) < 12 {
		return false
	}
	var lower, upper, digit, symbol bool
	for _, r := range p {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		case strings.ContainsRune(pwSymbols, r) || unicode.IsPunct(r) || unicode.IsSymbol(r):
			symbol = true
		}
	}
	if !lower || !upper || !digit || !symbol {
		return false
	}
	for i := 0; i+3 < len(p); i++ {
		d1, d2, d3 := int(p[i+1])-int(p[i]), int(p[i+2])-int(p[i+1]), int(p[i+3])-int(p[i+2])
		if d1 == d2 && d2 == d3 && (d1 >= -1 && d1 <= 1) {
			return false
		}
	}
	return true
}
