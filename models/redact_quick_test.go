package models

import (
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The quick test may only skip strings secretValue cannot match: over
// strings made of the pieces its matches are made of, in every case, with
// the characters Unicode folds onto ASCII letters, it says "may" wherever
// the expression matches.
func TestMayHoldSecretValueMissesNoMatch(t *testing.T) {
	pieces := []string{"bearer", "BEARER", "Bearer", "bEaReR", " ", "\t", "\r", "token", "eyJ", "EYJ", "eyj",
		"abcdefghij", ".", "-", "_", "-----", "BEGIN", "begin", " RSA ", "PRIVATE KEY", "-----BEGIN PRIVATE KEY-----",
		"ſ", "K", "é", "x", "0123456789"}
	r := rand.New(rand.NewPCG(27, 2026))
	matched := 0
	for range 200000 {
		var b strings.Builder
		for range 1 + r.IntN(12) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		s := b.String()
		if secretValue.MatchString(s) {
			matched++
			if !mayHoldSecretValue(s) {
				t.Fatalf("%q matches the expression but the quick test skips it", s)
			}
		}
	}
	if matched < 1000 {
		t.Fatalf("only %d of the strings matched: the test exercises too little", matched)
	}
	for _, s := range []string{"list", "0000123456-00001", "Olive Owner <olive@example.com>", "5551234567", "api_client:abcdefgh"} {
		if mayHoldSecretValue(s) {
			t.Errorf("%q is sent to the expression, which cannot match it", s)
		}
	}
}

func FuzzMayHoldSecretValue(f *testing.F) {
	for _, s := range []string{"Bearer abc", "eyJabcdefghi.abcdefghi.x", "-----BEGIN RSA PRIVATE KEY-----", "bearer\u00a0x", "ſ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if secretValue.MatchString(s) && !mayHoldSecretValue(s) {
			t.Fatalf("%q matches the expression but the quick test skips it", s)
		}
	})
}

// A key's answer is the expression's, the first time and from memory.
func TestSecretKeyNameRemembersTheExpressionsAnswer(t *testing.T) {
	for _, k := range []string{"password", "new_password", "Authorization", "app_key", "key", "pin", "password_version",
		"secret_key_id", "account", "operation", "devices", "keyboard", "spin"} {
		want := secretKey.MatchString(k) && !safeKey(k)
		for range 2 {
			if got := secretKeyName(k); got != want {
				t.Fatalf("secretKeyName(%q) = %v, want %v", k, got, want)
			}
		}
	}
}

// The quick test's words are read from the expression: each alternative's
// leading word, or none at all (every value to the expression) when one
// alternative has none.
func TestSecretWordsComeFromTheExpression(t *testing.T) {
	if want := []string{"bearer", "eyj", "-----begin "}; !slices.Equal(secretWords, want) {
		t.Fatalf("secretWords = %q, want %q", secretWords, want)
	}
	if w := leadingWords(regexp.MustCompile(`(?i)bearer\s+\S+|[0-9]{16}`)); w != nil {
		t.Fatalf("an alternative without a leading word gave words %q", w)
	}
}
