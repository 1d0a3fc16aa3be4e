// Package netguard keeps the portal's outbound HTTP requests to targets
// that people type (notification channels, and later the callback URLs
// of API clients) from reaching inside the network: loopback, link-local,
// private and other special-purpose addresses, and the portal's own
// listeners, unless an administrator allowed a private network by name.
//
// The check is made on the address actually dialled (net.Dialer's
// ControlContext), after DNS resolution, so a name that resolves to a
// public address when it is checked and to a private one when it is used
// (DNS rebinding) is refused all the same; no proxy is used, since the
// dial would then go to the proxy; redirects are never followed.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/uwsportal/uwsportal/models"
)

// ErrRefused is what a refused address wraps.
var ErrRefused = errors.New("address refused")

// Network is a private network an administrator allowed, by name.
type Network struct {
	Name   string
	Prefix netip.Prefix
}

// Options are what a Guard is built from.
type Options struct {
	// Allowed returns the networks targets may reach although they are
	// private (read at each connection, so a change holds at once); nil:
	// none.
	Allowed func(ctx context.Context) ([]Network, error)
	// Own are the portal's own listeners and public address (host:port;
	// a host 0.0.0.0 or :: or "" stands for every address of this
	// machine), refused even inside an allowed network.
	Own []string
	// Resolver resolves names (nil: net.DefaultResolver).
	Resolver *net.Resolver
}

// Guard checks outbound connections.
type Guard struct {
	allowed  func(ctx context.Context) ([]Network, error)
	own      []string
	resolver *net.Resolver
}

// New builds a guard.
func New(o Options) *Guard {
	r := o.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	return &Guard{allowed: o.Allowed, own: o.Own, resolver: r}
}

// Strict refuses every special-purpose address and allows no network.
var Strict = New(Options{})

// special are the ranges no target may reach unless an allowed network
// holds it (besides what netip classifies as loopback, private,
// link-local, multicast or unspecified).
var special = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64: may embed a private IPv4 address
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local NAT64
	netip.MustParsePrefix("2001::/32"),       // Teredo
	netip.MustParsePrefix("2002::/16"),       // 6to4: may embed a private IPv4 address
	netip.MustParsePrefix("100::/64"),        // discard
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
}

// kind says why ip is not public ("" when it is).
func kind(ip netip.Addr) string {
	switch {
	case ip.IsUnspecified():
		return "unspecified"
	case ip.IsLoopback():
		return "loopback"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "link-local"
	case ip.IsPrivate():
		return "private"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return "multicast"
	}
	for _, p := range special {
		if p.Contains(ip) {
			return "special-purpose"
		}
	}
	return ""
}

// CheckAddr refuses ap when it is one of the portal's own addresses, or a
// special-purpose address outside every allowed network.
func (g *Guard) CheckAddr(ctx context.Context, ap netip.AddrPort) error {
	ip := ap.Addr().Unmap()
	if ip.Zone() != "" {
		return fmt.Errorf("%w: %s has a zone", ErrRefused, ip.WithZone(""))
	}
	own, err := g.isOwn(ctx, netip.AddrPortFrom(ip, ap.Port()))
	if err != nil {
		return err
	}
	if own {
		return fmt.Errorf("%w: %s is the portal's own address", ErrRefused, ap)
	}
	k := kind(ip)
	if k == "" {
		return nil
	}
	if k != "unspecified" && g.allowed != nil {
		nets, err := g.allowed(ctx)
		if err != nil {
			return fmt.Errorf("read the allowed networks: %w", err)
		}
		for _, n := range nets {
			if n.Prefix.Contains(ip) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: %s is a %s address (an administrator may allow its network by name)", ErrRefused, ip, k)
}

// isOwn reports whether ap is one of the portal's own addresses.
func (g *Guard) isOwn(ctx context.Context, ap netip.AddrPort) (bool, error) {
	for _, o := range g.own {
		host, port, err := net.SplitHostPort(o)
		if err != nil || port != fmt.Sprint(ap.Port()) {
			continue
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			if local(ap.Addr()) {
				return true, nil
			}
			continue
		}
		ips, err := g.lookup(ctx, host)
		if err != nil {
			continue // a name that does not resolve is nobody's address
		}
		for _, ip := range ips {
			if ip == ap.Addr() {
				return true, nil
			}
		}
	}
	return false, nil
}

// local reports whether ip belongs to this machine.
func local(ip netip.Addr) bool {
	if ip.IsLoopback() || ip.IsUnspecified() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return true // unknown: the safer answer
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if own, ok := netip.AddrFromSlice(n.IP); ok && own.Unmap() == ip {
				return true
			}
		}
	}
	return false
}

func (g *Guard) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return []netip.Addr{ip.Unmap()}, nil
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") { // RFC 6761, whatever DNS says
		return []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1}), netip.IPv6Loopback()}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	ips, err := g.resolver.LookupNetIP(ctx, "ip", host)
	for i := range ips {
		ips[i] = ips[i].Unmap()
	}
	return ips, err
}

// CheckHost resolves host and refuses it when any of its addresses is
// refused at port (a check when a target is entered; the connection is
// checked again when it is made). A name that does not resolve passes
// here: it cannot be dialled either.
func (g *Guard) CheckHost(ctx context.Context, host string, port uint16) error {
	ips, err := g.lookup(ctx, host)
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) {
			return nil
		}
		return err
	}
	for _, ip := range ips {
		if err := g.CheckAddr(ctx, netip.AddrPortFrom(ip, port)); err != nil {
			return err
		}
	}
	return nil
}

// control checks the address a connection is about to be made to.
func (g *Guard) control(ctx context.Context, network, address string, _ syscall.RawConn) error {
	if !strings.HasPrefix(network, "tcp") {
		return fmt.Errorf("%w: network %s", ErrRefused, network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRefused, err)
	}
	return g.CheckAddr(ctx, ap)
}

// Client is an HTTP client that dials for every request and checks the
// address when it dials, uses no proxy and follows no redirect (a 3xx is
// the answer). timeout bounds each request.
func (g *Guard) Client(timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, ControlContext: g.control, Resolver: g.resolver}
	tr := &http.Transport{
		Proxy:       nil,
		DialContext: d.DialContext,
		// Every request dials, so every request is checked: a network an
		// admin took back is refused at once, not after an idle timeout.
		DisableKeepAlives:     true,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Timeout: timeout, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// ParseNetwork reads an administrator's "name=CIDR" or CIDR (a bare
// address is its own /32 or /128).
func ParseNetwork(name, cidr string) (Network, error) {
	name, cidr = strings.TrimSpace(name), strings.TrimSpace(cidr)
	if name == "" || len(name) > 100 {
		return Network{}, fmt.Errorf("name the network (at most 100 characters)")
	}
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		ip, ierr := netip.ParseAddr(cidr)
		if ierr != nil {
			return Network{}, fmt.Errorf("%q is not a network such as 10.20.0.0/16", models.ClipMark(cidr, 60))
		}
		p = netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen())
	}
	p = p.Masked()
	if p.Bits() < 8 {
		return Network{}, fmt.Errorf("a network of /%d is too wide: name the private network itself", p.Bits())
	}
	if kind(p.Addr()) == "unspecified" {
		return Network{}, fmt.Errorf("the unspecified address is not a network")
	}
	return Network{Name: name, Prefix: p}, nil
}
