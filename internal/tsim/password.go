package tsim

import (
	"crypto/rand"
	"errors"
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

// CheckPassword applies ThingSpace's documented policy for a password a
// person sets in ThingSpace Manage (docs/thingspace.md): at least 8 characters,
// a lower-case letter, an upper-case letter and a symbol, and no common
// sequence such as 12345 (a run of 5 ascending or descending characters).
// The "Strong" complexity estimate is not simulated.
func CheckPassword(p string) error {
	var lower, upper, symbol bool
	for _, r := range p {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsPunct(r) || unicode.IsSymbol(r):
			symbol = true
		}
	}
	var problems []string
	if len([]rune(p)) < 8 {
		problems = append(problems, "at least 8 characters")
	}
	if !lower {
		problems = append(problems, "a lower-case letter")
	}
	if !upper {
		problems = append(problems, "an upper-case letter")
	}
	if !symbol {
		problems = append(problems, "a symbol")
	}
	if hasRun(p, 5) {
		problems = append(problems, "no sequence such as 12345")
	}
	if len(problems) > 0 {
		return errors.New("password policy: needs " + strings.Join(problems, ", "))
	}
	return nil
}

// hasRun reports whether p has n bytes in a row that step by +1 or -1
// ("12345", "edcba").
func hasRun(p string, n int) bool {
	for i := 0; i+n <= len(p); i++ {
		step, ok := int(p[i+1])-int(p[i]), true
		for j := i + 1; j < i+n && ok; j++ {
			ok = (step == 1 || step == -1) && int(p[j])-int(p[j-1]) == step
		}
		if ok {
			return true
		}
	}
	return false
}

// MeetsPolicy is the stricter rule the simulator's generated passwords
// follow (so they always pass CheckPassword): it reports whether p has a lower-case letter, an upper-case
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
