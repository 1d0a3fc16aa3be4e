package devidp

import (
	"strings"
	"testing"
)

func validConfig(issuer string) Config {
	return Config{Issuer: issuer, ClientID: "c", ClientSecret: "s", RedirectURIs: []string{testRedirectURI}}
}

func TestNewRefusesNonLoopbackIssuer(t *testing.T) {
	for _, issuer := range []string{
		"http://example.com", "https://idp.example.com:9091", "http://10.0.0.1:9091",
		"http://0.0.0.0:9091", "http://[::]:9091", "http://localhost.example.com",
		"http://127.0.0.1.nip.io:9091", "", "127.0.0.1:9091", "ftp://127.0.0.1",
	} {
		if _, err := New(validConfig(issuer)); err == nil {
			t.Errorf("New accepted issuer %q", issuer)
		}
	}
	_, err := New(validConfig("http://192.168.1.5:9091"))
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("error for a LAN issuer = %v, want one that names loopback", err)
	}
}

func TestNewAcceptsLoopbackIssuer(t *testing.T) {
	for _, issuer := range []string{
		"http://127.0.0.1:9091", "http://127.1.2.3:9091", "http://localhost:9091",
		"http://LOCALHOST", "http://[::1]:9091", "https://127.0.0.1/idp/",
	} {
		if _, err := New(validConfig(issuer)); err != nil {
			t.Errorf("New refused issuer %q: %v", issuer, err)
		}
	}
}

func TestNewRefusesIncompleteConfig(t *testing.T) {
	for name, mutate := range map[string]func(*Config){
		"no client ID":       func(c *Config) { c.ClientID = "" },
		"no secret":          func(c *Config) { c.ClientSecret = "" },
		"no redirect URI":    func(c *Config) { c.RedirectURIs = nil },
		"relative redirect":  func(c *Config) { c.RedirectURIs = []string{"/auth/callback"} },
		"duplicate subjects": func(c *Config) { c.Users = []User{{Subject: "a"}, {Subject: "a"}} },
	} {
		cfg := validConfig("http://127.0.0.1:9091")
		mutate(&cfg)
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

func TestNewKeepsNoReferenceToCallerSlices(t *testing.T) {
	users := DefaultUsers()
	cfg := validConfig("http://127.0.0.1:9091")
	cfg.Users = users
	norm, err := cfg.normalize()
	if err != nil {
		t.Fatal(err)
	}
	users[0].Groups[0] = "changed"
	if norm.Users[0].Groups[0] != "uwsportal-admins" {
		t.Error("normalize shares the caller's group slices")
	}
}
