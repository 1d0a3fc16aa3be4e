package models

import "unicode/utf8"

// Clip keeps s within n bytes without cutting a UTF-8 character in two:
// the one way the portal shortens text it stores or shows (upstream codes,
// user input echoed to the audit trail, names in messages).
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ClipMark is Clip with an ellipsis when something was cut (names shown
// in messages); the result may be up to three bytes longer than n.
func ClipMark(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return Clip(s, n) + "…"
}
