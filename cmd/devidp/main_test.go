package main

import (
	"context"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func noEnv(string) string { return "" }

func TestParseOptionsDefaults(t *testing.T) {
	o, err := parseOptions([]string{"devidp"}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if o.addr != "127.0.0.1:9091" || o.issuer != "" || o.clientID != "uwsportal" ||
		o.clientSecret != wellKnownSecret || !o.defaultSecret ||
		!slices.Equal(o.redirectURIs, []string{"http://127.0.0.1:8080/auth/callback"}) ||
		!slices.Equal(o.postLogoutURIs, []string{"http://127.0.0.1:8080/"}) {
		t.Errorf("defaults = %+v", o)
	}
}

func TestParseOptionsOverrides(t *testing.T) {
	env := func(k string) string {
		if k == "DEVIDP_CLIENT_SECRET" {
			return "from-env"
		}
		return ""
	}
	o, err := parseOptions([]string{"devidp", "-addr", "[::1]:9999", "-redirect-uri", "http://a/cb", "-redirect-uri", "http://b/cb"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if o.clientSecret != "from-env" || o.defaultSecret || !slices.Equal(o.redirectURIs, []string{"http://a/cb", "http://b/cb"}) {
		t.Errorf("options = %+v", o)
	}
	o, err = parseOptions([]string{"devidp", "-client-secret", "from-flag"}, env)
	if err != nil || o.clientSecret != "from-flag" {
		t.Errorf("flag secret = %q (%v), want from-flag", o.clientSecret, err)
	}
}

func TestParseOptionsRefusesNonLoopbackAddr(t *testing.T) {
	for _, addr := range []string{":9091", "0.0.0.0:9091", "[::]:9091", "192.168.1.2:9091", "example.com:9091", "9091"} {
		_, err := parseOptions([]string{"devidp", "-addr", addr}, noEnv)
		if err == nil {
			t.Errorf("-addr %s accepted", addr)
		}
	}
	_, err := parseOptions([]string{"devidp", "-addr", "0.0.0.0:9091"}, noEnv)
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("error = %v, want one that names loopback", err)
	}
}

func TestRunServesAndShutsDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"devidp", "-addr", addr}, noEnv) }()

	discovery := "http://" + addr + "/.well-known/openid-configuration"
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(discovery)
		if err == nil {
			if err := resp.Body.Close(); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("discovery: %s", resp.Status)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("devidp did not come up: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after cancel")
	}
}

func TestRunRefusesNonLoopbackIssuer(t *testing.T) {
	err := run(t.Context(), []string{"devidp", "-addr", "127.0.0.1:0", "-issuer", "http://idp.example.com"}, noEnv)
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("run = %v, want a loopback error", err)
	}
}
