package models

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// strong passes every rule; tests change one thing at a time.
const strong = "Zq7!vRw2#Lp"

func ruleIDs(vs []PolicyViolation) []string {
	ids := make([]string, len(vs))
	for i, v := range vs {
		ids[i] = v.Rule
	}
	return ids
}

func TestCheckPasswordRules(t *testing.T) {
	for _, tc := range []struct {
		name string
		pw   string
		want []string // exact rule IDs, in order
	}{
		{"passes", strong, nil},
		{"passes long phrase", "Purple-Walrus-Juggles-9-Teacups!", nil},
		{"no lower", "ZQ7!VRW2#LPX", []string{RuleLower}},
		{"no upper", "zq7!vrw2#lpx", []string{RuleUpper}},
		{"no symbol", "Zq7xvRw2yLpK", []string{RuleSymbol}},
		{"space is not a symbol", "Zq7 vRw2 LpK", []string{RuleSymbol}},
		{"seven chars", "Zq7!vRw", []string{RuleMinLength}},
		{"max length exactly", strong + strings.Repeat("xK9&", 29) + "a", nil},
		{"one over max", strong + strings.Repeat("xK9&", 29) + "ab", []string{RuleMaxLength}},
		{"ascending digits", "Zq7!1234vRw#", []string{RuleSequence}},
		{"repeat", "Zq7!vvvvRw2#Lp", []string{RuleRepeat}},
		{"weak", "P@ssw0rd!", []string{RuleStrength}},
		{"weak with year", "Summer2024!", []string{RuleStrength}},
		// Longer than l33tWindow: the l33t analysis of the prefix catches it.
		{"weak long l33t", "P@ssw0rdP@ssw0rdP@ssw0rdP@ssw0rd!", []string{RuleStrength}},
		{"empty", "", []string{RuleLower, RuleUpper, RuleSymbol, RuleMinLength, RuleStrength}},
		{"several at once", "abcd1234", []string{RuleUpper, RuleSymbol, RuleSequence, RuleStrength}},
		{"everything but max", "aaaa", []string{RuleUpper, RuleSymbol, RuleMinLength, RuleRepeat, RuleStrength}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ruleIDs(CheckPassword(tc.pw))
			if !slices.Equal(got, tc.want) {
				t.Errorf("CheckPassword(%q) = %v, want %v", tc.pw, got, tc.want)
			}
		})
	}
}

func TestCheckPasswordSequences(t *testing.T) {
	for _, tc := range []struct {
		seq       string
		sequence  bool
		repeating bool
	}{
		{"1234", true, false},
		{"12345", true, false},
		{"98765", true, false},
		{"abcd", true, false},
		{"abcdef", true, false},
		{"dcba", true, false},
		{"DCBA", true, false},
		{"aBcD", true, false}, // case-insensitive
		{"wxyz", true, false},
		{"qwer", true, false},
		{"qwerty", true, false},
		{"QWERTY", true, false},
		{"trewq", true, false}, // backwards walk
		{"asdf", true, false},
		{"lkjh", true, false},
		{"zxcv", true, false},
		{"m,./", true, false},
		{"7890", true, false}, // number row, not an arithmetic run
		{"!@#$", true, false}, // shifted number row
		{"1111", false, true},
		{"AaAa", false, true},
		{"%%%%", false, true},
		{"ßßßß", false, true},
		{"123", false, false},
		{"abc", false, false},
		{"qwe", false, false},
		{"111", false, false},
		{"1235", false, false},
		{"abce", false, false},
		{"9012", false, false},
		{"yzab", false, false},
		{"a1b2", false, false},
		{"az09", false, false},
		{"αβγδ", false, false}, // only ASCII runs are "common"
		{"qaws", false, false},
	} {
		pw := "Zq7!" + tc.seq + "#Lp"
		got := ruleIDs(CheckPassword(pw))
		if has := slices.Contains(got, RuleSequence); has != tc.sequence {
			t.Errorf("%q: sequence violation = %v, want %v (all: %v)", tc.seq, has, tc.sequence, got)
		}
		if has := slices.Contains(got, RuleRepeat); has != tc.repeating {
			t.Errorf("%q: repeat violation = %v, want %v (all: %v)", tc.seq, has, tc.repeating, got)
		}
	}
}

func TestCheckPasswordUnicode(t *testing.T) {
	for _, tc := range []struct {
		name string
		pw   string
		want []string
	}{
		{"accented letters count", "Ünïcödé-Pässwörd9", nil},
		{"cyrillic", "Пароль-Сильный!7", nil},
		{"non-ASCII symbol", "Zq7€vRw2yLpK", nil},
		{"emoji is a symbol", "Zq7🦊vRw2yLpK", nil},
		// 7 runes but 14 bytes: length is counted in characters.
		{"short in runes", "Éé!ÄöÜx", []string{RuleMinLength}},
		{"caseless script has no upper or lower", "密码密码密码!7x", []string{RuleUpper}},
		{"combining mark is not a symbol", "Zq7e\u0301vRw2yLpK", []string{RuleSymbol}},
		{"invalid UTF-8", "Zq7!vRw2#Lp\xff\xfe", nil},
		{"129 runes of multibyte", "Ä!z" + strings.Repeat("é", 126), []string{RuleMaxLength, RuleRepeat}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ruleIDs(CheckPassword(tc.pw))
			if !slices.Equal(got, tc.want) {
				t.Errorf("CheckPassword(%q) = %v, want %v", tc.pw, got, tc.want)
			}
		})
	}
}

func TestCheckPasswordUserInputs(t *testing.T) {
	const user = "michelle_brown_my_companyUWS"
	pw := user + "!A"
	if got := CheckPassword(pw); len(got) != 0 {
		t.Fatalf("without user inputs: %v (test premise: zxcvbn alone finds it strong)", ruleIDs(got))
	}
	if got := ruleIDs(CheckPassword(pw, user, "", "  ")); !slices.Equal(got, []string{RuleStrength}) {
		t.Errorf("password built from the username: %v, want [strength]", got)
	}
}

func TestCheckPasswordMessages(t *testing.T) {
	for _, v := range CheckPassword("") {
		if v.Message == "" || v.Message != policyRules[v.Rule].requirement {
			t.Errorf("rule %s: Message %q", v.Rule, v.Message)
		}
	}
	for id, r := range policyRules {
		if r.requirement == "" || r.problem == "" {
			t.Errorf("rule %s lacks wording", id)
		}
	}
}

func TestValidatePassword(t *testing.T) {
	if err := ValidatePassword(strong); err != nil {
		t.Fatalf("strong password: %v", err)
	}
	const pw = "abc12345678"
	err := ValidatePassword(pw)
	var pe *PasswordPolicyError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %T %v, want *PasswordPolicyError", err, err)
	}
	want := "password does not meet the ThingSpace policy: needs at least one upper-case letter; " +
		"needs at least one symbol, such as ! # % or -; must not contain a common sequence such as 12345; " +
		`is too easy to guess (complexity must be "Strong")`
	if err.Error() != want {
		t.Errorf("message:\n got %s\nwant %s", err, want)
	}
	if len(pe.Violations) != 4 {
		t.Errorf("violations = %v", pe.Violations)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Error("errors.Is(err, ErrInvalid) = false")
	}
	wrapped := fmt.Errorf("save credential: %w", err)
	if msg, ok := SafeMessage(wrapped); !ok || msg != want {
		t.Errorf("SafeMessage = %q, %v; want the policy message", msg, ok)
	}
}

func TestPasswordPolicyErrorUnknownRule(t *testing.T) {
	err := &PasswordPolicyError{Violations: []PolicyViolation{{Rule: "custom", Message: "is on the banned list"}}}
	if got := err.Error(); got != "password does not meet the ThingSpace policy: is on the banned list" {
		t.Errorf("Error() = %q", got)
	}
}

func FuzzCheckPassword(f *testing.F) {
	for _, s := range []string{"", strong, "abcd1234", "P@ssw0rd!", "Ünïcödé-Pässwörd9", "\xff\xfe\xfd", "İİİİ", "ǅǆǄ!x", strings.Repeat("aB3$", 40)} {
		f.Add(s, "")
	}
	f.Add("michelle_brown!A", "michelle_brown")
	f.Fuzz(func(t *testing.T, pw, user string) {
		vs := CheckPassword(pw, user)
		n := utf8.RuneCountInString(pw)
		if (n < PasswordMinLength) != slices.Contains(ruleIDs(vs), RuleMinLength) {
			t.Errorf("min_length disagrees with rune count %d", n)
		}
		err := ValidatePassword(pw, user)
		if (err == nil) != (len(vs) == 0) {
			t.Fatalf("ValidatePassword = %v but CheckPassword = %v", err, vs)
		}
		if err != nil && len(pw) >= 4 && strings.Contains(err.Error(), pw) {
			t.Errorf("error message contains the password: %q", err)
		}
	})
}

func BenchmarkCheckPassword(b *testing.B) {
	for _, bc := range []struct{ name, pw string }{
		{"typical", "Purple-Walrus-Juggles-9!"},
		{"weak", "P@ssw0rd!"},
		{"max length", strong + strings.Repeat("xK9&", 29) + "a"},
		{"over max", strings.Repeat("xK9&", 1000)},
		// Many distinct l33t symbols: the worst case for zxcvbn's l33t matcher.
		{"l33t worst case", strings.Repeat("4@8({[<3691!|70$5+%2Aa", 6)[:128]},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				CheckPassword(bc.pw, "michelle_brown_my_companyUWS")
			}
		})
	}
}
