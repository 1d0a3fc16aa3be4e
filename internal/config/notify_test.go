package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSMTPSettings(t *testing.T) {
	with := func(kv ...string) map[string]string {
		m := minimal()
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	c, err := Load(env(minimal()))
	if err != nil || c.SMTP.Enabled() || c.NotifyDueDays != 7 {
		t.Fatalf("defaults: %+v %v", c.SMTP, err)
	}
	c, err = Load(env(with("UWSPORTAL_SMTP_ADDR", "smtp.example.com:587", "UWSPORTAL_SMTP_FROM", "portal@example.com")))
	if err != nil || !c.SMTP.Enabled() || c.SMTP.TLS != "starttls" {
		t.Fatalf("a mail server: %+v %v", c.SMTP, err)
	}
	pwFile := filepath.Join(t.TempDir(), "smtp")
	if err := os.WriteFile(pwFile, []byte("s3cret-Pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = Load(env(with("UWSPORTAL_SMTP_ADDR", "smtp.example.com:587", "UWSPORTAL_SMTP_FROM", "portal@example.com",
		"UWSPORTAL_SMTP_USERNAME", "portal", "UWSPORTAL_SMTP_PASSWORD_FILE", pwFile)))
	if err != nil || c.SMTP.Password != "s3cret-Pw" || strings.Contains(c.SMTP.String(), "s3cret") {
		t.Fatalf("password file: %v (%s)", err, c.SMTP)
	}
	bad := []struct {
		env  map[string]string
		want string
	}{
		{with("UWSPORTAL_SMTP_FROM", "portal@example.com"), "UWSPORTAL_SMTP_ADDR is required"},
		{with("UWSPORTAL_SMTP_ADDR", "smtp.example.com"), "UWSPORTAL_SMTP_ADDR must be host:port"},
		{with("UWSPORTAL_SMTP_ADDR", "smtp.example.com:25"), "UWSPORTAL_SMTP_FROM must be"},
		{with("UWSPORTAL_SMTP_ADDR", "smtp.example.com:25", "UWSPORTAL_SMTP_FROM", "Portal <p@example.com>"), "UWSPORTAL_SMTP_FROM must be"},
		{with("UWSPORTAL_SMTP_ADDR", "smtp.example.com:25", "UWSPORTAL_SMTP_FROM", "p@example.com", "UWSPORTAL_SMTP_TLS", "none"), "loopback"},
		{with("UWSPORTAL_SMTP_ADDR", "smtp.example.com:25", "UWSPORTAL_SMTP_FROM", "p@example.com", "UWSPORTAL_SMTP_TLS", "ssl3"), "UWSPORTAL_SMTP_TLS"},
		{with("UWSPORTAL_SMTP_ADDR", "smtp.example.com:25", "UWSPORTAL_SMTP_FROM", "p@example.com", "UWSPORTAL_SMTP_USERNAME", "u"), "set together"},
		{with("UWSPORTAL_SMTP_ADDR", "smtp.example.com:25", "UWSPORTAL_SMTP_FROM", "p@example.com", "UWSPORTAL_SMTP_PASSWORD", "Secret-Value-1", "UWSPORTAL_SMTP_PASSWORD_FILE", pwFile), "both set"},
		{with("UWSPORTAL_NOTIFY_DUE_DAYS", "0"), "UWSPORTAL_NOTIFY_DUE_DAYS"},
	}
	for _, b := range bad {
		_, err := Load(env(b.env))
		if err == nil || !strings.Contains(err.Error(), b.want) || strings.Contains(err.Error(), "Secret-Value-1") {
			t.Errorf("%v: got %v, want %q", b.env, err, b.want)
		}
	}
	if _, err := Load(env(with("UWSPORTAL_SMTP_ADDR", "127.0.0.1:25", "UWSPORTAL_SMTP_FROM", "p@example.com", "UWSPORTAL_SMTP_TLS", "none"))); err != nil {
		t.Errorf("a loopback relay without TLS: %v", err)
	}
}
