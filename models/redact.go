package models

import (
	"regexp"
	"strings"
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
			if secretKey.MatchString(k) && !safeKey(k) {
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
	return secretValue.ReplaceAllString(s, Redacted)
}
