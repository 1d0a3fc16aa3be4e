package web

import (
	"strings"
	"testing"
)

// FuzzClientRequestID: whatever a client sends as X-Request-ID, what is
// kept is short and made of a small safe alphabet, or nothing.
func FuzzClientRequestID(f *testing.F) {
	for _, s := range []string{"", "abc", "0af7651916cd43dd8448eb211c80319c", "trace:1.2_3-4", "a b", "x\r\ny", strings.Repeat("a", 65), "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, ok := cleanClientRequestID(in)
		if !ok {
			if out != "" {
				t.Fatalf("refused %q but kept %q", in, out)
			}
			return
		}
		if out != in || len(out) == 0 || len(out) > 64 || strings.Trim(out, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-") != "" {
			t.Fatalf("cleanClientRequestID(%q) = %q", in, out)
		}
	})
}
