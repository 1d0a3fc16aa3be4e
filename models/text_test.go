package models

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClipNeverSplitsACharacter(t *testing.T) {
	s := strings.Repeat("é", 10) // two bytes each
	for n := 0; n <= len(s)+1; n++ {
		got := Clip(s, n)
		if !utf8.ValidString(got) || len(got) > n || (n >= len(s) && got != s) || len(got) < n-1 {
			t.Fatalf("Clip(%d) = %q", n, got)
		}
	}
	if got := ClipMark("abcdef", 3); got != "abc…" {
		t.Fatalf("ClipMark = %q", got)
	}
	if got := ClipMark("abc", 3); got != "abc" {
		t.Fatalf("ClipMark kept = %q", got)
	}
}

func FuzzClip(f *testing.F) {
	f.Add("héllo wörld", 4)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 0 || n > 1<<16 {
			return
		}
		got := Clip(s, n)
		if len(got) > n || !strings.HasPrefix(s, got) || (utf8.ValidString(s) && !utf8.ValidString(got)) {
			t.Fatalf("Clip(%q, %d) = %q", s, n, got)
		}
	})
}
