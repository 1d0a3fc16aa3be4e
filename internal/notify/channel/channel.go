// Package channel delivers one models.Notification to one destination: a
// signed JSON webhook, a Slack or Microsoft Teams incoming webhook, or an
// email over SMTP. It knows nothing of outboxes or retries; it says, through
// IsPermanent, whether a failure is worth retrying.
//
// No error from this package contains a destination URL (Slack and Teams
// URLs are credentials), a signing secret or the SMTP password.
package channel

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/uwsportal/uwsportal/internal/clock"
	"github.com/uwsportal/uwsportal/internal/netguard"
	"github.com/uwsportal/uwsportal/models"
)

// Destination is where one notification goes.
type Destination struct {
	Kind    models.ChannelKind // webhook, slack, teams, email
	URL     string             // webhook, slack, teams
	Address string             // email: one address
	Secret  []byte             // webhook: the HMAC signing secret
}

// String shows the destination as Redact does, so a Destination in a log
// line or an error never shows a URL's secret path or the signing secret.
func (d Destination) String() string {
	if d.Kind == models.ChannelEmail {
		return "email " + d.Address
	}
	return string(d.Kind) + " " + Redact(d.Kind, d.URL)
}

// GoString keeps %#v from printing the URL or the secret.
func (d Destination) GoString() string { return "channel.Destination(" + d.String() + ")" }

// SMTP is the mail server email channels send through (UWSPORTAL_SMTP_*).
type SMTP struct {
	Addr     string // host:port
	Username string // "" sends without SMTP AUTH
	Password string
	From     string // a bare address
	// TLS is "starttls" (the default when empty: STARTTLS is mandatory),
	// "tls" (implicit TLS, usually port 465) or "none" (plain text, refused
	// unless Addr is a loopback address).
	TLS string
	// RootCAs verifies the server's certificate; nil means the system pool.
	RootCAs *x509.CertPool
}

// String never shows the password.
func (m SMTP) String() string {
	return fmt.Sprintf("smtp %s (tls=%s, from=%s, user=%q)", m.Addr, m.tlsMode(), m.From, m.Username)
}

// GoString keeps %#v from printing the password.
func (m SMTP) GoString() string { return "channel.SMTP(" + m.String() + ")" }

// Sender delivers notifications. The zero value works for HTTP kinds; email
// needs SMTP.
type Sender struct {
	// Guard checks every connection to a webhook, Slack or Teams target
	// when it is made (nil: netguard.Strict, which allows no private
	// network); redirects are never followed: a 3xx is a failure.
	Guard *netguard.Guard
	// Timeout bounds one webhook request (0: DefaultHTTPTimeout).
	Timeout time.Duration
	SMTP    SMTP
	// Now stamps webhook timestamps and email dates; nil means clock.System.
	Now func() time.Time

	once   sync.Once
	client *http.Client
}

// DefaultHTTPTimeout bounds one webhook request when Sender.HTTP is nil.
const DefaultHTTPTimeout = 10 * time.Second

// Send delivers n to d once. It returns nil when the destination accepted
// the notification (any HTTP 2xx; the SMTP server's 250 after DATA). An
// error says what failed, without secrets; IsPermanent(err) is true when
// retrying cannot help.
func (s *Sender) Send(ctx context.Context, d Destination, n models.Notification) error {
	switch d.Kind {
	case models.ChannelWebhook:
		return s.sendWebhook(ctx, d, n)
	case models.ChannelSlack:
		return s.sendSlack(ctx, d, n)
	case models.ChannelTeams:
		return s.sendTeams(ctx, d, n)
	case models.ChannelEmail:
		return s.sendEmail(ctx, d, n)
	default:
		return Permanent(models.Errorf(models.ErrInvalid, "unknown channel kind %q: use webhook, slack, teams or email", d.Kind))
	}
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return clock.System()
}

// httpClient is the guard's client: every connection checked when it is
// made, no proxy, no redirects. One per sender, so connections are reused.
func (s *Sender) httpClient() *http.Client {
	s.once.Do(func() {
		t := s.Timeout
		if t <= 0 {
			t = DefaultHTTPTimeout
		}
		s.client = s.guard().Client(t)
	})
	return s.client
}

func (s *Sender) guard() *netguard.Guard {
	if s.Guard == nil {
		return netguard.Strict
	}
	return s.Guard
}

// CheckTarget resolves a webhook, Slack or Teams target's host and
// refuses it when it points where the guard refuses to connect (the
// connection is checked again when it is made). The message names the
// address, never the URL.
func (s *Sender) CheckTarget(ctx context.Context, kind models.ChannelKind, target string) error {
	if kind == models.ChannelEmail {
		return nil
	}
	u, err := parseTargetURL(kind, target)
	if err != nil {
		return err
	}
	port := uint16(443)
	if u.Scheme == "http" {
		port = 80
	}
	if p, err := strconv.ParseUint(u.Port(), 10, 16); err == nil {
		port = uint16(p)
	}
	if err := s.guard().CheckHost(ctx, u.Hostname(), port); err != nil {
		if errors.Is(err, netguard.ErrRefused) {
			return models.Errorf(models.ErrInvalid, "The %s target is refused: %s.", kind, strings.TrimPrefix(err.Error(), netguard.ErrRefused.Error()+": "))
		}
		return err
	}
	return nil
}
