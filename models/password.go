package models

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ccojocar/zxcvbn-go"
	"github.com/ccojocar/zxcvbn-go/matching"
)

// Password policy limits (ThingSpace Manage; see docs/thingspace.md).
const (
	PasswordMinLength = 8
	PasswordMaxLength = 128
	// PasswordMinScore is zxcvbn's score (0–4) read as ThingSpace's
	// "Strong" complexity.
	PasswordMinScore = 3
	// sequenceLen is the shortest run, keyboard walk or repeat rejected.
	sequenceLen = 4
)

// Stable rule IDs of PolicyViolation.Rule, for callers that react to one
// rule (a checklist UI, metrics) without parsing messages.
const (
	RuleLower     = "lower"
	RuleUpper     = "upper"
	RuleSymbol    = "symbol"
	RuleMinLength = "min_length"
	RuleMaxLength = "max_length"
	RuleSequence  = "sequence"
	RuleRepeat    = "repeat"
	RuleStrength  = "strength"
)

// PolicyViolation is one failed rule of the password policy.
type PolicyViolation struct {
	Rule    string // stable ID, one of the Rule constants
	Message string // the requirement, for the user: "at least one lower-case letter"
}

// policyRule pairs the requirement (checklist wording, PolicyViolation.Message)
// with the problem (error wording) so both read naturally.
type policyRule struct{ requirement, problem string }

var policyRules = map[string]policyRule{
	RuleLower:     {"at least one lower-case letter", "needs at least one lower-case letter"},
	RuleUpper:     {"at least one upper-case letter", "needs at least one upper-case letter"},
	RuleSymbol:    {"at least one symbol, such as ! # % or -", "needs at least one symbol, such as ! # % or -"},
	RuleMinLength: {"at least 8 characters", "needs at least 8 characters"},
	RuleMaxLength: {"at most 128 characters", "must be at most 128 characters"},
	RuleSequence:  {"no common sequence such as 12345, abcd or qwerty", "must not contain a common sequence such as 12345"},
	RuleRepeat:    {"no character repeated 4 or more times in a row", "must not repeat a character 4 or more times in a row"},
	RuleStrength:  {`complexity "Strong": hard to guess, not built from words, names or dates`, `is too easy to guess (complexity must be "Strong")`},
}

func violation(rule string) PolicyViolation {
	return PolicyViolation{Rule: rule, Message: policyRules[rule].requirement}
}

// PasswordPolicyError lists every rule a password failed. Its message is
// built only from fixed rule texts, so it never contains the password and
// is safe to log and show.
type PasswordPolicyError struct {
	Violations []PolicyViolation
}

func (e *PasswordPolicyError) Error() string {
	var b strings.Builder
	b.WriteString("password does not meet the ThingSpace policy: ")
	for i, v := range e.Violations {
		if i > 0 {
			b.WriteString("; ")
		}
		if r, ok := policyRules[v.Rule]; ok {
			b.WriteString(r.problem)
		} else {
			b.WriteString(v.Message)
		}
	}
	return b.String()
}

// Is makes errors.Is(err, ErrInvalid) true, so the web layer maps a policy
// failure to the same status as any other invalid input.
func (e *PasswordPolicyError) Is(target error) bool { return target == ErrInvalid }

// As lets errors.As (and so SafeMessage) see a policy failure as an *Error
// of kind ErrInvalid whose message is safe to show.
func (e *PasswordPolicyError) As(target any) bool {
	if t, ok := target.(**Error); ok {
		*t = &Error{Kind: ErrInvalid, Message: e.Error()}
		return true
	}
	return false
}

// ValidatePassword is CheckPassword as an error: nil, or a
// *PasswordPolicyError.
func ValidatePassword(pw string, userInputs ...string) error {
	if v := CheckPassword(pw, userInputs...); len(v) > 0 {
		return &PasswordPolicyError{Violations: v}
	}
	return nil
}

// CheckPassword checks pw against the ThingSpace password policy and returns
// every rule it fails, in a fixed order (none means it passes). userInputs
// (the username, the department name, …) are words zxcvbn treats as easy to
// guess.
//
// Letters are Unicode-aware (é is lower-case, É upper-case): the policy
// protects passwords ThingSpace itself accepts, so the portal should not
// reject one that ThingSpace would take. Length counts characters (runes),
// not bytes.
func CheckPassword(pw string, userInputs ...string) []PolicyViolation {
	var lower, upper, symbol bool
	for _, r := range pw {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case isSymbol(r):
			symbol = true
		}
	}
	n := utf8.RuneCountInString(pw)

	var out []PolicyViolation
	add := func(ok bool, rule string) {
		if !ok {
			out = append(out, violation(rule))
		}
	}
	add(lower, RuleLower)
	add(upper, RuleUpper)
	add(symbol, RuleSymbol)
	add(n >= PasswordMinLength, RuleMinLength)
	add(n <= PasswordMaxLength, RuleMaxLength)
	seq, rep := findSequences(pw)
	add(!seq, RuleSequence)
	add(!rep, RuleRepeat)
	// zxcvbn's cost grows quickly with length; past the maximum the
	// password is rejected anyway, so do not let a huge input burn CPU.
	if n <= PasswordMaxLength {
		add(strongEnough(pw, userInputs), RuleStrength)
	}
	return out
}

// isSymbol: punctuation or symbol characters (! # € ©). Letters, digits,
// combining marks, spaces and control characters do not count.
func isSymbol(r rune) bool {
	return unicode.IsPunct(r) || unicode.IsSymbol(r)
}

// l33tWindow bounds zxcvbn's l33t-substitution analysis. That matcher tries
// every combination of the substitutions present (@→a, |→i or l, …), so its
// cost grows exponentially with the variety of symbols and quadratically
// with length: 5 s for a crafted 128-character input, under 0.3 s for 32.
const l33tWindow = 32

// strongEnough reports whether zxcvbn scores pw "Strong". Long passwords get
// the l33t analysis on their first l33tWindow characters only and the other
// matchers on the whole, and must pass both: dropping l33t altogether would
// let "P@ssw0rdP@ssw0rdP@ssw0rdP@ssw0rd!" through (score 4 without, 0 with).
func strongEnough(pw string, userInputs []string) bool {
	var inputs []string
	for _, in := range userInputs {
		if in = strings.TrimSpace(in); in != "" {
			inputs = append(inputs, in)
		}
	}
	rs := []rune(pw)
	if len(rs) <= l33tWindow {
		return zxcvbn.PasswordStrength(pw, inputs).Score >= PasswordMinScore
	}
	return zxcvbn.PasswordStrength(pw, inputs, matching.FilterL33tMatcher).Score >= PasswordMinScore &&
		zxcvbn.PasswordStrength(string(rs[:l33tWindow]), inputs).Score >= PasswordMinScore
}

// keyboardRows are US-keyboard rows, unshifted and shifted, lower-cased as
// the password is before comparison. Walking a row either way ("qwer",
// "lkjh", "!@#$") is among the first things a cracker tries.
var keyboardRows = []string{
	"`1234567890-=",
	"~!@#$%^&*()_+",
	"qwertyuiop[]\\",
	"qwertyuiop{}|",
	"asdfghjkl;'",
	`asdfghjkl:"`,
	"zxcvbnm,./",
	"zxcvbnm<>?",
}

// keyboardWalks holds every 4-character stretch of a keyboard row, forwards
// and backwards; a longer walk always contains one, so 4 is enough.
var keyboardWalks = func() map[string]bool {
	m := make(map[string]bool)
	for _, row := range keyboardRows {
		rev := []rune(row)
		for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
			rev[i], rev[j] = rev[j], rev[i]
		}
		for _, s := range []string{row, string(rev)} {
			for i := 0; i+sequenceLen <= len(s); i++ {
				m[s[i:i+sequenceLen]] = true
			}
		}
	}
	return m
}()

// findSequences reports whether pw, ignoring case, contains an ascending or
// descending run of 4 digits or 4 letters (1234, dcba), a 4-key keyboard
// walk (qwer, asdf), or one character 4 times in a row (aaaa).
func findSequences(pw string) (sequence, repeat bool) {
	rs := []rune(strings.ToLower(pw))
	for i := 0; i+sequenceLen <= len(rs); i++ {
		w := rs[i : i+sequenceLen]
		if !sequence && (isRun(w) || keyboardWalks[string(w)]) {
			sequence = true
		}
		if !repeat && w[0] == w[1] && w[1] == w[2] && w[2] == w[3] {
			repeat = true
		}
		if sequence && repeat {
			break
		}
	}
	return sequence, repeat
}

// isRun: w is ASCII digits or ASCII letters stepping by +1 or -1 throughout.
func isRun(w []rune) bool {
	class := func(r rune) int {
		switch {
		case '0' <= r && r <= '9':
			return 1
		case 'a' <= r && r <= 'z':
			return 2
		}
		return 0
	}
	c := class(w[0])
	if c == 0 {
		return false
	}
	step := w[1] - w[0]
	if step != 1 && step != -1 {
		return false
	}
	for i := 1; i < len(w); i++ {
		if class(w[i]) != c || w[i]-w[i-1] != step {
			return false
		}
	}
	return true
}
