package models

import (
	"net/netip"
	"strings"
)

// AddressBucket is the client a source address stands for when counting
// attempts: the address itself for IPv4, its /64 for IPv6 (one subscriber
// or host usually holds a whole /64, so per-address counting is worthless
// there). Anything unparsable is one bucket of its own, clipped.
func AddressBucket(addr string) string {
	a, err := netip.ParseAddr(strings.TrimSpace(addr))
	if err != nil {
		if len(addr) > 64 {
			addr = addr[:64]
		}
		return "unparsed:" + addr
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return a.String()
	}
	return p.String()
}
