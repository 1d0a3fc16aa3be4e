package config

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func minimal() map[string]string {
	return map[string]string{"UWSPORTAL_MASTER_KEY": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}
}

func TestDefaults(t *testing.T) {
	c, err := Load(env(minimal()))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.BaseURL.String() != "http://127.0.0.1:8080" || c.OIDCGroupsClaim != "groups" ||
		c.SessionIdle != 30*time.Minute || c.SessionLifetime != 12*time.Hour || c.QuarantineThreshold != 2 ||
		!c.AutoMigrate || c.Secure() || c.SSOEnabled() || strings.Join(c.OIDCScopes, " ") != "openid profile email groups" ||
		c.ThingSpaceURL != "https://thingspace.verizon.com" || c.ApprovalWindow != time.Hour {
		t.Fatalf("unexpected defaults: %+v", c)
	}
}

func TestEachVariableIsValidated(t *testing.T) {
	cases := map[string]string{
		"UWSPORTAL_ADDR":                 "no-port",
		"UWSPORTAL_BASE_URL":             "ftp://x",
		"UWSPORTAL_CALLBACK_URL":         "callbacks.example.com",
		"UWSPORTAL_METRICS_ADDR":         "nope",
		"UWSPORTAL_AUTO_MIGRATE":         "perhaps",
		"UWSPORTAL_LOG_LEVEL":            "loud",
		"UWSPORTAL_SESSION_IDLE":         "forever",
		"UWSPORTAL_SESSION_LIFETIME":     "-1h",
		"UWSPORTAL_SHUTDOWN_TIMEOUT":     "0",
		"UWSPORTAL_APPROVAL_WINDOW":      "soon",
		"THINGSPACE_URL":                 "not a url",
		"THINGSPACE_SOAP_URL":            "/relative",
		"UWSPORTAL_QUARANTINE_THRESHOLD": "5",
		"UWSPORTAL_BREAK_GLASS":          "maybe",
		"UWSPORTAL_SCHEDULER":            "sometimes",
		"UWSPORTAL_TRUSTED_PROXIES":      "10.0.0.0/99",
		"OIDC_ISSUER":                    "issuer-without-scheme",
		"THINGSPACE_APP_KEY":             "only-the-key",
	}
	for name, bad := range cases {
		t.Run(name, func(t *testing.T) {
			m := minimal()
			m[name] = bad
			if name == "OIDC_ISSUER" {
				m["OIDC_CLIENT_ID"], m["OIDC_CLIENT_SECRET"] = "id", "s3cret-value"
			}
			_, err := Load(env(m))
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("want an error naming %s, got %v", name, err)
			}
		})
	}
}

func TestApprovalWindowIsBounded(t *testing.T) {
	m := minimal()
	m["UWSPORTAL_APPROVAL_WINDOW"] = "15m"
	if c, err := Load(env(m)); err != nil || c.ApprovalWindow != 15*time.Minute {
		t.Fatalf("15m: %v %v", c, err)
	}
	m["UWSPORTAL_APPROVAL_WINDOW"] = "200h"
	if _, err := Load(env(m)); err == nil || !strings.Contains(err.Error(), "UWSPORTAL_APPROVAL_WINDOW") {
		t.Fatalf("200h: want an error naming the variable, got %v", err)
	}
}

func TestSeveralProblemsInOneErrorWithoutSecrets(t *testing.T) {
	_, err := Load(env(map[string]string{
		"UWSPORTAL_ADDR":         "bad",
		"OIDC_CLIENT_SECRET":     "super-secret-value",
		"THINGSPACE_APP_SECRET":  "another-secret-value",
		"UWSPORTAL_SESSION_IDLE": "x",
	}))
	if err == nil {
		t.Fatal("expected an error")
	}
	msg := err.Error()
	for _, want := range []string{"UWSPORTAL_ADDR", "UWSPORTAL_MASTER_KEY", "OIDC_ISSUER", "OIDC_CLIENT_ID", "THINGSPACE_APP_KEY", "UWSPORTAL_SESSION_IDLE"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not name %s: %s", want, msg)
		}
	}
	for _, secret := range []string{"super-secret-value", "another-secret-value"} {
		if strings.Contains(msg, secret) {
			t.Errorf("error echoes a secret: %s", msg)
		}
	}
	if !IsConfigError(err) || len(err.(*Error).Problems) < 6 {
		t.Fatalf("want every problem listed: %v", err)
	}
}

func TestBothKeySourcesIsAnError(t *testing.T) {
	_, err := Load(env(map[string]string{"UWSPORTAL_MASTER_KEY": "a", "UWSPORTAL_MASTER_KEY_FILE": "/k"}))
	if err == nil || !strings.Contains(err.Error(), "only one") {
		t.Fatalf("got %v", err)
	}
}

func TestHTTPSBaseURLIsSecure(t *testing.T) {
	m := minimal()
	m["UWSPORTAL_BASE_URL"] = "https://portal.example.com/"
	m["UWSPORTAL_TRUSTED_PROXIES"] = "10.0.0.0/8, 192.168.0.0/16"
	c, err := Load(env(m))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Secure() || c.BaseURL.String() != "https://portal.example.com" || len(c.TrustedProxies) != 2 {
		t.Fatalf("got %v %v", c.BaseURL, c.TrustedProxies)
	}
}

func TestMalformedKeyIsListedWithoutItsValue(t *testing.T) {
	_, err := Load(env(map[string]string{"UWSPORTAL_MASTER_KEY": "c2hvcnQta2V5LXZhbHVl", "UWSPORTAL_ADDR": "bad"}))
	if err == nil || !strings.Contains(err.Error(), "UWSPORTAL_MASTER_KEY") || !strings.Contains(err.Error(), "UWSPORTAL_ADDR") ||
		strings.Contains(err.Error(), "c2hvcnQta2V5LXZhbHVl") {
		t.Fatalf("got %v", err)
	}
}

func TestBreakGlassSwitch(t *testing.T) {
	for v, want := range map[string]bool{"": true, "on": true, "off": false, "OFF": false, "false": false, "true": true} {
		m := minimal()
		m["UWSPORTAL_BREAK_GLASS"] = v
		c, err := Load(env(m))
		if err != nil || c.BreakGlass != want {
			t.Errorf("UWSPORTAL_BREAK_GLASS=%q: %v %v", v, c, err)
		}
	}
}

func TestOIDCIssuerMustBeHTTPSOffLoopback(t *testing.T) {
	for issuer, ok := range map[string]bool{"https://idp.example.com": true, "http://127.0.0.1:9091": true, "http://localhost:9091": true,
		"http://[::1]:9091": true, "http://idp.example.com": false, "http://10.0.0.5": false} {
		m := minimal()
		m["OIDC_ISSUER"], m["OIDC_CLIENT_ID"], m["OIDC_CLIENT_SECRET"] = issuer, "id", "secret"
		_, err := Load(env(m))
		if (err == nil) != ok {
			t.Errorf("OIDC_ISSUER=%s: %v", issuer, err)
		}
	}
}

func TestCallbackURLIsOptional(t *testing.T) {
	c, err := Load(env(minimal()))
	if err != nil || c.CallbackURL != "" {
		t.Fatalf("unset: %q, %v", c.CallbackURL, err)
	}
	m := minimal()
	m["UWSPORTAL_CALLBACK_URL"] = "https://cb.example.com/"
	if c, err = Load(env(m)); err != nil || c.CallbackURL != "https://cb.example.com" {
		t.Fatalf("set: %q, %v", c.CallbackURL, err)
	}
}
