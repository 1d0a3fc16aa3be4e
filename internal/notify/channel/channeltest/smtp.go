package channeltest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Mail is one message the SMTP server accepted.
type Mail struct {
	From   string
	To     []string
	Data   []byte      // the message exactly as received
	Header mail.Header // parsed from Data
	// Subject is the decoded Subject header; Text the decoded body.
	Subject string
	Text    string
	// TLS says whether the session was encrypted (STARTTLS) when DATA came.
	TLS bool
	// User is the name the client authenticated as, or "".
	User string
}

// SMTPServer is an in-process SMTP server on 127.0.0.1 (go-smtp). Only
// what the channel tests need: it stores every message it accepts.
type SMTPServer struct {
	Addr    string         // host:port
	RootCAs *x509.CertPool // trusts the server's certificate; nil without TLS

	mu         sync.Mutex
	msgs       []Mail
	failNext   int
	rejectNext int
	user, pass string
}

// NewSMTPServer starts a server that offers STARTTLS with a fresh
// self-signed certificate for 127.0.0.1 and localhost. It closes when the
// test ends.
func NewSMTPServer(t testing.TB) *SMTPServer {
	t.Helper()
	cert, pool := NewCertificate(t)
	s := &SMTPServer{RootCAs: pool}
	s.start(t, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, false)
	return s
}

// NewImplicitTLSSMTPServer starts a server that speaks TLS from the first
// byte (as on port 465), with a fresh self-signed certificate.
func NewImplicitTLSSMTPServer(t testing.TB) *SMTPServer {
	t.Helper()
	cert, pool := NewCertificate(t)
	s := &SMTPServer{RootCAs: pool}
	s.start(t, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, true)
	return s
}

// NewPlainSMTPServer starts a server that offers no STARTTLS, to show that
// a client insisting on TLS refuses it.
func NewPlainSMTPServer(t testing.TB) *SMTPServer {
	t.Helper()
	s := &SMTPServer{}
	s.start(t, nil, false)
	return s
}

func (s *SMTPServer) start(t testing.TB, tlsConfig *tls.Config, implicit bool) {
	t.Helper()
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.TLSConfig = tlsConfig
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.MaxMessageBytes = 1 << 20
	srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("channeltest: SMTP listen: %v", err)
	}
	s.Addr = l.Addr().String()
	if implicit {
		l = tls.NewListener(l, tlsConfig)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
}

// RequireAuth makes the server offer AUTH PLAIN (over TLS only) and refuse
// MAIL FROM until the client has authenticated with these credentials.
func (s *SMTPServer) RequireAuth(user, pass string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user, s.pass = user, pass
}

// FailNext makes the server answer 451 (try again later) to the next n
// messages, after reading them.
func (s *SMTPServer) FailNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = n
}

// RejectNext makes the server answer 554 (transaction failed, permanent)
// to the next n messages.
func (s *SMTPServer) RejectNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejectNext = n
}

// Messages returns the messages accepted so far.
func (s *SMTPServer) Messages() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.msgs...)
}

// WaitFor waits until at least n messages have arrived and returns them;
// the test fails if they do not arrive within timeout.
func (s *SMTPServer) WaitFor(t testing.TB, n int, timeout time.Duration) []Mail {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if m := s.Messages(); len(m) >= n {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("channeltest: %d of %d messages arrived within %s", len(s.Messages()), n, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// session is one SMTP connection.
type session struct {
	srv  *SMTPServer
	conn *smtp.Conn
	from string
	to   []string
	user string
}

func (ss *session) AuthMechanisms() []string {
	ss.srv.mu.Lock()
	defer ss.srv.mu.Unlock()
	if ss.srv.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		ss.srv.mu.Lock()
		defer ss.srv.mu.Unlock()
		if user != ss.srv.user || pass != ss.srv.pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
		}
		ss.user = user
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.srv.mu.Lock()
	needAuth := ss.srv.user != ""
	ss.srv.mu.Unlock()
	if needAuth && ss.user == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := ss.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failNext > 0 {
		s.failNext--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
	}
	if s.rejectNext > 0 {
		s.rejectNext--
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Message refused"}
	}
	_, isTLS := ss.conn.TLSConnectionState()
	m := Mail{From: ss.from, To: append([]string(nil), ss.to...), Data: data, TLS: isTLS, User: ss.user}
	parse(&m)
	s.msgs = append(s.msgs, m)
	return nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

// parse fills Header, Subject and Text from Data, as far as it can.
func parse(m *Mail) {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return
	}
	m.Header = msg.Header
	if subj, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err == nil {
		m.Subject = subj
	}
	var body io.Reader = msg.Body
	switch strings.ToLower(msg.Header.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body) // it skips line breaks itself
	}
	text, err := io.ReadAll(body)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return
	}
	m.Text = strings.ReplaceAll(string(text), "\r\n", "\n")
}
