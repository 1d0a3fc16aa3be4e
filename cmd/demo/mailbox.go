package main

import (
	"bytes"
	"io"
	"mime"
	"net"
	"net/mail"
	"strings"

	"github.com/emersion/go-smtp"
)

// mailbox is the demo's mail server on loopback: it accepts every message
// the portal sends (leads' and channels' notifications) and prints who got
// what, so the demo shows notifications without a real mail server.
type mailbox struct{}

// serveMailbox accepts mail on ln until the demo stops.
func serveMailbox(ln net.Listener) *smtp.Server {
	s := smtp.NewServer(mailbox{})
	s.Domain = "localhost"
	s.AllowInsecureAuth = true
	go func() { _ = s.Serve(ln) }()
	return s
}

func (mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{}, nil }

type mailSession struct{ to []string }

func (m *mailSession) Mail(string, *smtp.MailOptions) error { return nil }
func (m *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	m.to = append(m.to, to)
	return nil
}

func (m *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	subject := "(no subject)"
	if msg, err := mail.ReadMessage(bytes.NewReader(b)); err == nil {
		if s, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err == nil {
			subject = s
		}
	}
	say("mail to %s: %s", strings.Join(m.to, ", "), subject)
	return nil
}

func (m *mailSession) Reset()        { m.to = nil }
func (m *mailSession) Logout() error { return nil }
