package netguard_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/netguard"
)

var ctx = context.Background()

func TestSpecialAddressesAreRefused(t *testing.T) {
	t.Parallel()
	for _, a := range []string{"127.0.0.1:5432", "[::1]:80", "10.1.2.3:443", "172.16.0.1:443", "192.168.1.1:443", "169.254.169.254:80",
		"[fe80::1]:443", "[fd00::1]:443", "100.64.0.1:443", "0.0.0.0:443", "[::]:443", "[::ffff:127.0.0.1]:443", "[64:ff9b::a00:1]:443",
		"[2002:a00:1::]:443", "224.0.0.1:443", "255.255.255.255:443"} {
		if err := netguard.Strict.CheckAddr(ctx, netip.MustParseAddrPort(a)); !errors.Is(err, netguard.ErrRefused) {
			t.Errorf("%s: %v, want refused", a, err)
		}
	}
	if err := netguard.Strict.CheckAddr(ctx, netip.MustParseAddrPort("93.184.216.34:443")); err != nil {
		t.Errorf("a public address: %v", err)
	}
	for _, h := range []string{"localhost", "localhost.", "127.0.0.1", "::1"} {
		if err := netguard.Strict.CheckHost(ctx, h, 443); !errors.Is(err, netguard.ErrRefused) {
			t.Errorf("host %s: %v, want refused", h, err)
		}
	}
}

// An allowed network opens its addresses, never the portal's own.
func TestAllowedNetworksAndOwnAddresses(t *testing.T) {
	t.Parallel()
	lan, err := netguard.ParseNetwork("siem", "10.20.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	lo, err := netguard.ParseNetwork("receivers", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	g := netguard.New(netguard.Options{Allowed: func(context.Context) ([]netguard.Network, error) { return []netguard.Network{lan, lo}, nil },
		Own: []string{"127.0.0.1:8080", "0.0.0.0:9100", "10.20.0.5:443"}})
	for a, ok := range map[string]bool{"10.20.3.4:443": true, "10.21.0.1:443": false, "127.0.0.1:9999": true, "127.0.0.1:8080": false,
		"127.0.0.1:9100": false, "10.20.0.5:443": false, "10.20.0.5:8443": true} {
		err := g.CheckAddr(ctx, netip.MustParseAddrPort(a))
		if ok != (err == nil) {
			t.Errorf("%s: %v, want allowed %v", a, err, ok)
		}
	}
	for _, bad := range [][2]string{{"", "10.0.0.0/8"}, {"all", "0.0.0.0/0"}, {"x", "nonsense"}, {"x", "0.0.0.0"}} {
		if _, err := netguard.ParseNetwork(bad[0], bad[1]); err == nil {
			t.Errorf("ParseNetwork(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

// The check holds when the connection is made, whatever was checked
// before (a name that resolved elsewhere, a network allowed then): the
// guarded client refuses to dial, and follows no redirect.
func TestTheCheckHoldsAtConnectionTime(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	var allow atomic.Bool
	allow.Store(true)
	g := netguard.New(netguard.Options{Allowed: func(context.Context) ([]netguard.Network, error) {
		if allow.Load() {
			return []netguard.Network{{Name: "lo", Prefix: netip.MustParsePrefix("127.0.0.0/8")}}, nil
		}
		return nil, nil
	}})
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if err := g.CheckHost(ctx, "127.0.0.1", 443); err != nil {
		t.Fatalf("allowed at entry: %v", err)
	}
	c := g.Client(5 * time.Second)
	res, err := c.Get(srv.URL + "/redirect")
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Body.Close(); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusFound || hits.Load() != 1 {
		t.Fatalf("redirect: %d after %d requests, want the 302 itself", res.StatusCode, hits.Load())
	}
	allow.Store(false) // as if the name now resolved to a refused address
	_, err = c.Get("http://127.0.0.1:" + port + "/")
	if !errors.Is(err, netguard.ErrRefused) || hits.Load() != 1 {
		t.Fatalf("dial after the network was no longer allowed: %v (%d requests)", err, hits.Load())
	}
}
