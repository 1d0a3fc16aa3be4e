package channel

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/uwsportal/uwsportal/models"
)

// TLS modes of SMTP.TLS.
const (
	SMTPStartTLS = "starttls"
	SMTPTLS      = "tls"
	SMTPNoTLS    = "none"
)

// smtpTimeout bounds each SMTP step (go-mail's timeout); the context's
// deadline, when sooner, closes the connection first.
const smtpTimeout = 30 * time.Second

func (m SMTP) tlsMode() string {
	if m.TLS == "" {
		return SMTPStartTLS
	}
	return strings.ToLower(m.TLS)
}

// Validate checks the mail server settings; call it at start-up so a
// mistake is reported once rather than by every email. The messages name
// the UWSPORTAL_SMTP_* variables.
func (m SMTP) Validate() error {
	host, port, err := net.SplitHostPort(m.Addr)
	if err != nil || host == "" {
		return models.Errorf(models.ErrInvalid, "UWSPORTAL_SMTP_ADDR must be host:port, such as smtp.example.com:587.")
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return models.Errorf(models.ErrInvalid, "UWSPORTAL_SMTP_ADDR: %q is not a port number.", port)
	}
	if a, err := mail.ParseAddress(m.From); err != nil || a.Name != "" || a.Address != m.From {
		return models.Errorf(models.ErrInvalid, "UWSPORTAL_SMTP_FROM must be one bare address, such as uwsportal@example.com.")
	}
	switch m.tlsMode() {
	case SMTPStartTLS, SMTPTLS:
	case SMTPNoTLS:
		if !IsLoopbackHost(host) {
			return models.Errorf(models.ErrInvalid, "UWSPORTAL_SMTP_TLS=none is allowed only for a mail server on this machine (127.0.0.1, ::1, localhost): use starttls or tls.")
		}
	default:
		return models.Errorf(models.ErrInvalid, "UWSPORTAL_SMTP_TLS must be starttls, tls or none, not %q.", m.TLS)
	}
	if m.Password != "" && m.Username == "" {
		return models.Errorf(models.ErrInvalid, "UWSPORTAL_SMTP_PASSWORD is set but UWSPORTAL_SMTP_USERNAME is not: set both, or neither.")
	}
	return nil
}

// EmailMessage builds the message for n to one address (exported for the
// outbox's tests and previews). The Message-ID depends only on the delivery
// ID, so a resend is recognisably the same message.
func EmailMessage(from, to string, n models.Notification, now time.Time) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("email: the From address: %w", err)
	}
	if err := msg.To(to); err != nil {
		return nil, Permanent(models.Errorf(models.ErrInvalid, "%q is not an email address this portal can send to.", models.ClipMark(to, 80)))
	}
	// One line whatever the caller gave, so no text can add a header.
	msg.Subject("[uwsportal] " + strings.Join(strings.Fields(n.Subject), " "))
	msg.SetMessageIDWithValue(fmt.Sprintf("delivery-%d@uwsportal", n.DeliveryID))
	msg.SetDateWithValue(now)
	msg.SetUserAgent(userAgent)
	msg.SetBulk()
	msg.SetGenHeader(gomail.Header(HeaderDelivery), strconv.FormatInt(n.DeliveryID, 10))
	msg.SetGenHeader(gomail.Header(HeaderEvent), string(n.Event))
	msg.SetBodyString(gomail.TypeTextPlain, EmailBody(n))
	return msg, nil
}

// EmailBody is the plain-text body: the text, the fields as "key: value"
// lines, and the link.
func EmailBody(n models.Notification) string {
	var b strings.Builder
	if n.Text != "" {
		b.WriteString(n.Text + "\n")
	}
	if len(n.Fields) > 0 {
		b.WriteString("\n")
		for _, k := range sortedKeys(n.Fields) {
			fmt.Fprintf(&b, "%s: %s\n", k, n.Fields[k])
		}
	}
	if n.Link != "" {
		fmt.Fprintf(&b, "\n%s: %s\n", LinkTitle, n.Link)
	}
	return b.String()
}

func (s *Sender) sendEmail(ctx context.Context, d Destination, n models.Notification) error {
	if err := validateAddress(d.Address); err != nil {
		return Permanent(err)
	}
	if err := s.SMTP.Validate(); err != nil {
		return err // the portal's settings, not this destination: worth retrying once fixed
	}
	msg, err := EmailMessage(s.SMTP.From, d.Address, n, s.now())
	if err != nil {
		return err
	}
	client, stop, err := s.SMTP.client(ctx)
	if err != nil {
		return scrub(fmt.Errorf("email via %s: %w", s.SMTP.Addr, err), s.SMTP.Password)
	}
	defer stop()
	err = client.DialAndSendWithContext(ctx, msg)
	if err == nil || msg.IsDelivered() {
		return nil // a failed QUIT after the server took the message is not a failure
	}
	return scrub(classifySMTP(ctx, s.SMTP.Addr, d.Address, err), s.SMTP.Password)
}

// client builds a go-mail client for one delivery. Its dialer closes the
// connection when ctx ends (go-mail itself only uses ctx to dial), so a
// cancelled or expired context stops the exchange at once; stop releases
// the watcher. smtpTimeout bounds each step when ctx has no deadline.
func (m SMTP) client(ctx context.Context) (*gomail.Client, func(), error) {
	host, portText, _ := net.SplitHostPort(m.Addr)
	port, _ := strconv.Atoi(portText)
	tlsConfig := &tls.Config{ServerName: host, RootCAs: m.RootCAs, MinVersion: tls.VersionTLS12}
	var mu sync.Mutex
	var stops []func() bool
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		var conn net.Conn
		var err error
		if m.tlsMode() == SMTPTLS {
			conn, err = (&tls.Dialer{Config: tlsConfig}).DialContext(dctx, network, addr)
		} else {
			conn, err = (&net.Dialer{}).DialContext(dctx, network, addr)
		}
		if err == nil {
			mu.Lock()
			stops = append(stops, context.AfterFunc(ctx, func() { conn.Close() }))
			mu.Unlock()
		}
		return conn, err
	}
	opts := []gomail.Option{
		gomail.WithPort(port), gomail.WithTimeout(smtpTimeout), gomail.WithTLSConfig(tlsConfig),
		gomail.WithDialContextFunc(dial), gomail.WithHELO("uwsportal"),
	}
	switch m.tlsMode() {
	case SMTPStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case SMTPTLS:
		opts = append(opts, gomail.WithSSL()) // the dialer above does the TLS handshake
	case SMTPNoTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if m.Username != "" {
		// PLAIN, else LOGIN; go-mail refuses both on an unencrypted
		// connection to anything but localhost.
		opts = append(opts, gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(m.Username), gomail.WithPassword(m.Password))
	}
	c, err := gomail.NewClient(host, opts...)
	stop := func() {
		mu.Lock()
		defer mu.Unlock()
		for _, f := range stops {
			f()
		}
	}
	return c, stop, err
}

// classifySMTP words a go-mail error and marks the server's 5xx answers to
// the message (MAIL FROM, RCPT TO, DATA) permanent. A failure before that
// (connecting, STARTTLS, the certificate, AUTH) is about the portal's mail
// settings or the server's state, not this notification, so it stays
// retryable.
func classifySMTP(ctx context.Context, addr, to string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("email to %s via %s: %w (%v)", to, addr, ctx.Err(), err)
	}
	var se *gomail.SendError
	if errors.As(err, &se) {
		out := fmt.Errorf("email to %s via %s: the server answered: %w", to, addr, err)
		if code := se.ErrorCode(); code >= 500 && code < 600 && !se.IsTemp() {
			return Permanent(out)
		}
		return out
	}
	return fmt.Errorf("email to %s via %s: %w: check UWSPORTAL_SMTP_* (address, TLS mode, credentials)", to, addr, err)
}
