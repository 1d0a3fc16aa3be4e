package models

import (
	"net/netip"
	"strings"
	"testing"
)

func TestAddressBucket(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":                "192.0.2.7",
		"::ffff:192.0.2.7":         "192.0.2.7",
		"2001:db8:1:2::1":          "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::9":     "2001:db8:1:2::/64",
		"fe80::1%eth0":             "fe80::/64",
		"not an address":           "unparsed:not an address",
		"":                         "unparsed:",
		strings.Repeat("x", 100):   "unparsed:" + strings.Repeat("x", 64),
		"2001:db8:1:3::1":          "2001:db8:1:3::/64",
		"2001:0db8:0001:0002::0a0": "2001:db8:1:2::/64",
	} {
		if got := AddressBucket(in); got != want {
			t.Errorf("AddressBucket(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzAddressBucket: any client-supplied address maps to a short bucket,
// and an IPv6 address always to the /64 that contains it.
func FuzzAddressBucket(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "2001:db8::1", "::ffff:1.2.3.4", "fe80::1%25eth0", "x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := AddressBucket(in)
		if len(out) > 80 {
			t.Fatalf("AddressBucket(%q) is %d bytes", in, len(out))
		}
		if a, err := netip.ParseAddr(in); err == nil && a.Unmap().Is6() {
			p, err := netip.ParsePrefix(out)
			if err != nil || p.Bits() != 64 || !p.Contains(a.WithZone("")) {
				t.Fatalf("AddressBucket(%q) = %q, not its /64", in, out)
			}
		}
	})
}
