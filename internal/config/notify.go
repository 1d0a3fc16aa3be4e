package config

import (
	"net"
	"net/mail"
)

// SMTP is the mail server for email notifications (UWSPORTAL_SMTP_*).
type SMTP struct {
	Addr     string // host:port; "" turns email off
	Username string
	Password string // from UWSPORTAL_SMTP_PASSWORD or UWSPORTAL_SMTP_PASSWORD_FILE
	From     string
	TLS      string // starttls (default), tls, none (loopback only)
}

// Enabled reports whether email can be sent.
func (s SMTP) Enabled() bool { return s.Addr != "" }

// String never shows the password.
func (s SMTP) String() string {
	if !s.Enabled() {
		return "smtp off"
	}
	return "smtp " + s.Addr + " tls=" + s.TLS + " from=" + s.From
}

// notify reads the notification settings into c.
func (p *parser) notify(c *Config) {
	c.NotifyDueDays = p.intRange("UWSPORTAL_NOTIFY_DUE_DAYS", 7, 1, 90)
	s := SMTP{
		Addr:     p.str("UWSPORTAL_SMTP_ADDR", ""),
		Username: p.str("UWSPORTAL_SMTP_USERNAME", ""),
		From:     p.str("UWSPORTAL_SMTP_FROM", ""),
		TLS:      p.oneOf("UWSPORTAL_SMTP_TLS", "starttls", "starttls", "tls", "none"),
	}
	s.Password = p.secret("UWSPORTAL_SMTP_PASSWORD")
	if s.Addr == "" {
		if s.From != "" || s.Username != "" || s.Password != "" {
			p.fail("UWSPORTAL_SMTP_ADDR", "is required when any other UWSPORTAL_SMTP_* variable is set")
		}
		c.SMTP = s
		return
	}
	host, port, err := net.SplitHostPort(s.Addr)
	if err != nil || host == "" || port == "" {
		p.fail("UWSPORTAL_SMTP_ADDR", "must be host:port, such as smtp.example.com:587")
	}
	if a, err := mail.ParseAddress(s.From); err != nil || a.Name != "" || a.Address != s.From {
		p.fail("UWSPORTAL_SMTP_FROM", "must be one bare email address, such as uwsportal@example.com")
	}
	if s.TLS == "none" && !loopbackHost(host) {
		p.fail("UWSPORTAL_SMTP_TLS", "may be none only for a mail server on a loopback address")
	}
	if (s.Username == "") != (s.Password == "") {
		p.fail("UWSPORTAL_SMTP_USERNAME", "and UWSPORTAL_SMTP_PASSWORD (or _FILE) must be set together")
	}
	c.SMTP = s
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
