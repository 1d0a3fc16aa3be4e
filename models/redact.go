package models

import (
	"regexp"
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

// mayHoldSecretValue is false only for a string secretValue cannot match:
// every match holds "bearer", "eyJ" or "-----BEGIN" in some mix of cases.
// A string with anything but ASCII is left to the expression, which folds
// cases as Unicode does.
func mayHoldSecretValue(s string) bool {
	for i := 0; i < len(s); i++ {
		var word string
		switch c := s[i]; {
		case c >= utf8.RuneSelf:
			return true
		case c|0x20 == 'b':
			word = "bearer"
		case c|0x20 == 'e':
			word = "eyj"
		case c == '-':
			word = "-----begin"
		default:
			continue
		}
		if len(s)-i >= len(word) && strings.EqualFold(s[i:i+len(word)], word) {
			return true
		}
	}
	return false
}
