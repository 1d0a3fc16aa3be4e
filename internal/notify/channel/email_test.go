package channel_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/notify/channel"
	"github.com/uwsportal/uwsportal/internal/notify/channel/channeltest"
	"github.com/uwsportal/uwsportal/models"
)

const smtpPassword = "s3cret-smtp-Passw0rd"

func mailSender(srv *channeltest.SMTPServer, mode string) *channel.Sender {
	return &channel.Sender{Guard: channeltest.Loopback, SMTP: channel.SMTP{
		Addr: srv.Addr, From: "uwsportal@example.com", TLS: mode, RootCAs: srv.RootCAs,
	}}
}

func toOps() channel.Destination {
	return channel.Destination{Kind: models.ChannelEmail, Address: "ops@example.com"}
}

func TestEmailDeliveredOverSTARTTLS(t *testing.T) {
	srv := channeltest.NewSMTPServer(t)
	n := sampleNotification()
	if err := mailSender(srv, "").Send(context.Background(), toOps(), n); err != nil {
		t.Fatalf("Send: %v", err)
	}
	m := srv.WaitFor(t, 1, time.Second)[0]
	if !m.TLS {
		t.Error("the message arrived without STARTTLS")
	}
	if m.From != "uwsportal@example.com" || len(m.To) != 1 || m.To[0] != "ops@example.com" {
		t.Errorf("envelope = %s → %v", m.From, m.To)
	}
	if m.Subject != "[uwsportal] "+n.Subject {
		t.Errorf("Subject = %q", m.Subject)
	}
	for h, want := range map[string]string{
		"Message-Id":           "<delivery-42@uwsportal>",
		channel.HeaderDelivery: "42",
		channel.HeaderEvent:    "quarantined",
		"From":                 "<uwsportal@example.com>",
		"To":                   "<ops@example.com>",
	} {
		if got := m.Header.Get(h); got != want {
			t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}
	if !strings.HasPrefix(m.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("Content-Type = %q, want text/plain", m.Header.Get("Content-Type"))
	}

	want := n.Text + "\n\nfailures: 2\nstate: quarantined\n\nOpen in uwsportal: " + n.Link + "\n"
	if m.Text != want {
		t.Errorf("body = %q\nwant %q", m.Text, want)
	}

	n.DeliveryID, n.Subject = 43, "two\r\nBcc: victim@example.com"
	if err := mailSender(srv, "").Send(context.Background(), toOps(), n); err != nil {
		t.Fatalf("Send: %v", err)
	}
	m = srv.WaitFor(t, 2, time.Second)[1]
	if m.Header.Get("Bcc") != "" || m.Subject != "[uwsportal] two Bcc: victim@example.com" {
		t.Errorf("a line break in the subject made a header: Subject %q, Bcc %q", m.Subject, m.Header.Get("Bcc"))
	}
}

func TestEmailOtherTLSModes(t *testing.T) {
	implicit := channeltest.NewImplicitTLSSMTPServer(t)
	if err := mailSender(implicit, "tls").Send(context.Background(), toOps(), sampleNotification()); err != nil {
		t.Fatalf("Send with tls to an implicit-TLS server: %v", err)
	}
	if m := implicit.WaitFor(t, 1, time.Second)[0]; !m.TLS {
		t.Error("implicit TLS: the session was not encrypted")
	}

	plain := channeltest.NewPlainSMTPServer(t)
	if err := mailSender(plain, "none").Send(context.Background(), toOps(), sampleNotification()); err != nil {
		t.Fatalf("Send with none to a loopback server: %v", err)
	}
	if m := plain.WaitFor(t, 1, time.Second)[0]; m.TLS {
		t.Error("none: the session claims TLS")
	}
}

func TestSTARTTLSIsMandatory(t *testing.T) {
	plain := channeltest.NewPlainSMTPServer(t)
	for _, mode := range []string{"", "starttls", "STARTTLS"} {
		err := mailSender(plain, mode).Send(context.Background(), toOps(), sampleNotification())
		if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
			t.Errorf("TLS=%q to a server without STARTTLS: Send = %v, want a refusal naming STARTTLS", mode, err)
		}
	}
	if got := len(plain.Messages()); got != 0 {
		t.Errorf("%d messages went out in plain text", got)
	}

	// A certificate the client does not trust is refused too.
	srv := channeltest.NewSMTPServer(t)
	s := mailSender(srv, "starttls")
	s.SMTP.RootCAs = nil // the system pool does not know the test CA
	if err := s.Send(context.Background(), toOps(), sampleNotification()); err == nil {
		t.Error("Send accepted an untrusted certificate")
	}
}

func TestSMTPValidate(t *testing.T) {
	ok := channel.SMTP{Addr: "smtp.example.com:587", From: "uwsportal@example.com"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("Validate(%v) = %v", ok, err)
	}
	for _, tc := range []struct {
		edit func(*channel.SMTP)
		msg  string
	}{
		{func(m *channel.SMTP) { m.Addr = "smtp.example.com" }, "host:port"},
		{func(m *channel.SMTP) { m.Addr = "smtp.example.com:smtp" }, "not a port"},
		{func(m *channel.SMTP) { m.From = "Portal <uwsportal@example.com>" }, "UWSPORTAL_SMTP_FROM"},
		{func(m *channel.SMTP) { m.TLS = "none" }, "only for a mail server on this machine"},
		{func(m *channel.SMTP) { m.TLS = "ssl" }, "starttls, tls or none"},
		{func(m *channel.SMTP) { m.Password = smtpPassword }, "USERNAME is not"},
	} {
		m := ok
		tc.edit(&m)
		err := m.Validate()
		if err == nil || !errors.Is(err, models.ErrInvalid) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Validate(%v) = %v, want ErrInvalid saying %q", m, err, tc.msg)
		}
		assertNoSecret(t, err, smtpPassword)
	}
	m := ok
	m.TLS, m.Addr = "none", "127.0.0.1:25"
	if err := m.Validate(); err != nil {
		t.Errorf("none on loopback: %v", err)
	}
	m.Password, m.Username = smtpPassword, "portal"
	if strings.Contains(m.String(), smtpPassword) || strings.Contains((&m).String(), smtpPassword) {
		t.Errorf("SMTP.String shows the password: %s", m)
	}
}

func TestEmailAuth(t *testing.T) {
	srv := channeltest.NewSMTPServer(t)
	srv.RequireAuth("portal", smtpPassword)
	s := mailSender(srv, "starttls")
	s.SMTP.Username, s.SMTP.Password = "portal", smtpPassword
	if err := s.Send(context.Background(), toOps(), sampleNotification()); err != nil {
		t.Fatalf("Send with the right credentials: %v", err)
	}
	if m := srv.WaitFor(t, 1, time.Second)[0]; m.User != "portal" || !m.TLS {
		t.Errorf("authenticated as %q, TLS %v", m.User, m.TLS)
	}

	s.SMTP.Password = smtpPassword + "-wrong"
	err := s.Send(context.Background(), toOps(), sampleNotification())
	if err == nil {
		t.Fatal("Send with a wrong password succeeded")
	}
	if channel.IsPermanent(err) {
		t.Errorf("an AUTH failure is the portal's setting, not the message's: should stay retryable: %v", err)
	}
	assertNoSecret(t, err, smtpPassword)

	s.SMTP.Username, s.SMTP.Password = "", ""
	if err := s.Send(context.Background(), toOps(), sampleNotification()); err == nil {
		t.Error("Send without credentials to a server requiring AUTH succeeded")
	}
}

func TestEmailClassification(t *testing.T) {
	srv := channeltest.NewSMTPServer(t)
	s := mailSender(srv, "")
	srv.FailNext(1)
	err := s.Send(context.Background(), toOps(), sampleNotification())
	if err == nil || channel.IsPermanent(err) || !strings.Contains(err.Error(), "451") {
		t.Errorf("SMTP 451: Send = %v (permanent %v), want retryable naming 451", err, channel.IsPermanent(err))
	}
	srv.RejectNext(1)
	err = s.Send(context.Background(), toOps(), sampleNotification())
	if err == nil || !channel.IsPermanent(err) || !strings.Contains(err.Error(), "554") {
		t.Errorf("SMTP 554: Send = %v (permanent %v), want permanent naming 554", err, channel.IsPermanent(err))
	}
	if err := s.Send(context.Background(), toOps(), sampleNotification()); err != nil {
		t.Fatalf("Send after the failures: %v", err)
	}
	if got := srv.WaitFor(t, 1, time.Second); len(got) != 1 {
		t.Errorf("%d messages stored, want 1", len(got))
	}

	// Nothing listening: a network error, retryable.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	s.SMTP.Addr = closed
	if err := s.Send(context.Background(), toOps(), sampleNotification()); err == nil || channel.IsPermanent(err) {
		t.Errorf("no server: Send = %v, want retryable", err)
	}
}

// silentServer accepts connections and never says a word.
func silentServer(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeQuietly(t, l) })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { closeQuietly(t, c) })
		}
	}()
	return l.Addr().String()
}

// TestEmailHonoursContext: against a server that never greets, Send gives
// up when the context's deadline passes or it is cancelled.
func TestEmailHonoursContext(t *testing.T) {
	s := &channel.Sender{Guard: channeltest.Loopback, SMTP: channel.SMTP{Addr: silentServer(t), From: "uwsportal@example.com"}}
	deadline, cancel1 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel1()
	cancelled, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel2)
	for _, tc := range []struct {
		ctx  context.Context
		want error
	}{{deadline, context.DeadlineExceeded}, {cancelled, context.Canceled}} {
		start := time.Now()
		err := s.Send(tc.ctx, toOps(), sampleNotification())
		if err == nil || channel.IsPermanent(err) {
			t.Fatalf("Send to a silent server = %v, want a retryable error", err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("Send took %s after the context ended at 200ms", took)
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("error does not wrap %v: %v", tc.want, err)
		}
	}
}

// closeQuietly closes c at the end of a test; one the test closed already
// is fine, any other failure is reported.
func closeQuietly(t *testing.T, c io.Closer) {
	if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		t.Error(err)
	}
}
