package models

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// Redacted replaces a secret wherever one would have been written.
const Redacted = "[redacted]"

// secretKey matches detail keys whose values are secrets, at any depth.
var secretKey = regexp.MustCompile(`(?i)pass(word|wd|phrase)?|secret|token|api[-_]?key|app[-_]?key|private|authorization|cookie|bearer|credential_?value|^key$|otp|pin$`)

// secretValue matches values that look like secrets whatever their key:
// bearer headers, JWTs and PEM blocks.
var secretValue = regexp.MustCompile(`(?i)bearer\s+\S+|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*|-----BEGIN [A-Z ]*PRIVATE KEY-----`)

// Redact returns a copy of detail with secrets replaced: values under
// secret-looking keys at every depth, values that look like tokens, and any
// occurrence of the known secrets the caller handled in this operation.
func Redact(detail map[string]any, known ...string) map[string]any {
	var live []string
	for _, k := range known {
		if len(k) >= 4 {
			live = append(live, k)
		}
	}
	out, _ := redactValue(detail, live).(map[string]any)
	if out == nil {
		out = map[string]any{}
	}
	return out
}

func redactValue(v any, known []string) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, val := range x {
			if secretKeyName(k) {
				m[k] = Redacted
				continue
			}
			m[redactString(k, known)] = redactValue(val, known)
		}
		return m
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, val := range x {
			m[k] = val
		}
		return redactValue(m, known)
	case []any:
		s := make([]any, len(x))
		for i, val := range x {
			s[i] = redactValue(val, known)
		}
		return s
	case []string:
		s := make([]any, len(x))
		for i, val := range x {
			s[i] = redactValue(val, known)
		}
		return s
	case string:
		return redactString(x, known)
	case fmtStringer:
		return redactString(x.String(), known)
	default:
		return v
	}
}

type fmtStringer interface{ String() string }

// safeKey lets through keys that name a secret's metadata, not the secret.
func safeKey(k string) bool {
	k = strings.ToLower(k)
	for _, suffix := range []string{"_version", "_key_id", "_rules", "_policy", "_changed", "_age", "_count"} {
		if strings.HasSuffix(k, suffix) {
			return true
		}
	}
	return false
}

func redactString(s string, known []string) string {
	for _, k := range known {
		if strings.Contains(s, k) {
			s = strings.ReplaceAll(s, k, Redacted)
		}
	}
	if !mayHoldSecretValue(s) {
		return s
	}
	return secretValue.ReplaceAllString(s, Redacted)
}

// Every audit event is redacted before it is appended, on the chain's
// serial path, and the two expressions cost most of it: a gateway call's
// event spent 30 µs there (BENCHMARKS.md). What a key names is decided once
// per key (the portal writes a few dozen), and a value is given to
// secretValue only if it could match it.

// keyNames remembers secretKeyName's answers, for at most maxKeyNames keys
// (details are written by the portal, but a key may come from input).
var (
	keyNames     sync.Map // string -> bool
	keyNamesHeld atomic.Int64
)

const maxKeyNames = 4096

// secretKeyName says whether values under key k are secrets.
func secretKeyName(k string) bool {
	if v, ok := keyNames.Load(k); ok {
		return v.(bool)
	}
	secret := secretKey.MatchString(k) && !safeKey(k)
	if keyNamesHeld.Load() < maxKeyNames {
		if _, loaded := keyNames.LoadOrStore(k, secret); !loaded {
			keyNamesHeld.Add(1)
		}
	}
	return secret
}

// secretWords are the words every match of secretValue begins with, read
// from the expression itself so that the two cannot part ("bearer", "eyj",
// "-----begin "); nil when one of its alternatives begins with no word, or
// with a letter outside ASCII: every value then goes to the expression.
var secretWords = leadingWords(secretValue)

func leadingWords(re *regexp.Regexp) []string {
	t, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return nil
	}
	alts := []*syntax.Regexp{t}
	if t.Op == syntax.OpAlternate {
		alts = t.Sub
	}
	words := make([]string, 0, len(alts))
	for _, a := range alts {
		if a.Op == syntax.OpConcat && len(a.Sub) > 0 {
			a = a.Sub[0]
		}
		w := strings.ToLower(string(a.Rune))
		if a.Op != syntax.OpLiteral || w == "" || !isASCII(w) {
			return nil
		}
		words = append(words, w)
	}
	return words
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// mayHoldSecretValue is false only for a string secretValue cannot match:
// one holding none of secretWords in any mix of cases. A string with
// anything but ASCII is left to the expression, which folds cases as
// Unicode does.
func mayHoldSecretValue(s string) bool {
	if secretWords == nil {
		return true
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return true
		}
		for _, w := range secretWords {
			if len(s)-i >= len(w) && s[i]|0x20 == w[0]|0x20 && strings.EqualFold(s[i:i+len(w)], w) {
				return true
			}
		}
	}
	return false
}
