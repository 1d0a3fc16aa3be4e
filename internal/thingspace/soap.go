package thingspace

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/uwsportal/uwsportal/internal/bufpool"
	"github.com/uwsportal/uwsportal/internal/secret"
)

// DefaultSOAPURL is the production WNS SessionService endpoint.
const DefaultSOAPURL = "https://uws.apps.nphase.com/api/v2/SessionService.svc"

const (
	soapEnvNS      = "http://schemas.xmlsoap.org/soap/envelope/"
	soapV2NS       = "http://nphase.com/unifiedwebservice/v2"
	soapContractNS = "http://schemas.datacontract.org/2004/07/NPhase.UnifiedWebService.APIs.v2.Contract.SessionService"
	soapActionBase = "http://nphase.com/unifiedwebservice/v2/ISessionService/"
)

// SOAPConfig configures the legacy SOAP backend.
type SOAPConfig struct {
	Endpoint   string       // default DefaultSOAPURL
	HTTPClient *http.Client // shared; default NewHTTPClient(0)
	Version    string       // sent as User-Agent uwsportal/<Version>
}

// SOAP is the Backend for the legacy WNS SessionService (SOAP 1.1). It has
// no bearer token; the session token travels in the SOAP header.
type SOAP struct {
	endpoint  string
	hc        *http.Client
	userAgent string
}

var _ Backend = (*SOAP)(nil)

// NewSOAP returns a SOAP backend for cfg.
func NewSOAP(cfg SOAPConfig) (*SOAP, error) {
	if cfg.Endpoint == "" {
		cfg.Endpoint = DefaultSOAPURL
	}
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("thingspace: SOAP endpoint %q is not an http(s) URL", cfg.Endpoint)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = NewHTTPClient(0)
	}
	return &SOAP{endpoint: cfg.Endpoint, hc: cfg.HTTPClient, userAgent: userAgent(cfg.Version)}, nil
}

// Login implements Backend.
func (s *SOAP) Login(ctx context.Context, username, password string) (string, error) {
	body := "<v2:Input><ses:Username>" + xmlText(username) + "</ses:Username><ses:Password>" +
		xmlText(password) + "</ses:Password></v2:Input>"
	fields, e := s.do(ctx, opLogin, "LogIn", "", body, []string{password})
	if e != nil {
		return "", e
	}
	tok := fields["SessionToken"]
	if tok == "" {
		return "", &Error{Class: ClassUnknown, Op: opLogin, Status: http.StatusOK, Err: errors.New("answer has no SessionToken")}
	}
	return tok, nil
}

// Logout implements Backend.
func (s *SOAP) Logout(ctx context.Context, session string) error {
	if _, e := s.do(ctx, opLogout, "LogOut", session, "", nil); e != nil {
		return e
	}
	return nil
}

// ResetPassword implements Backend (GetNewPassword).
func (s *SOAP) ResetPassword(ctx context.Context, session, oldPassword string) ResetResult {
	body := "<v2:Input><ses:OldPassword>" + xmlText(oldPassword) + "</ses:OldPassword></v2:Input>"
	fields, e := s.do(ctx, opReset, "GetNewPassword", session, body, []string{oldPassword})
	pw := fields["NewPassword"]
	if pw != "" {
		// Whole, in a 2xx that is not a fault: kept even if the envelope
		// breaks after it (see parseSOAP), as it exists nowhere else.
		return ResetResult{Outcome: ResetApplied, NewPassword: secret.Secret(pw)}
	}
	if e != nil {
		return resetResultFromError(e)
	}
	return ResetResult{Outcome: ResetUnknown, Err: &Error{Class: ClassUnknown, Op: opReset, Status: http.StatusOK,
		Err: errors.New("answer has no NewPassword")}}
}

// Call implements Backend; M2M calls exist only over REST.
func (s *SOAP) Call(ctx context.Context, session, method, path string, body, out any) error {
	return &Error{Class: ClassUnsupported, Op: opCall, Err: fmt.Errorf("M2M %s %s over SOAP: %w", method, path, ErrUnsupported), notSent: true}
}

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // strings.Builder never fails
	return b.String()
}

func (s *SOAP) envelope(op, session, input string) []byte {
	var b bytes.Buffer
	b.WriteString(`<s:Envelope xmlns:s="` + soapEnvNS + `" xmlns:v2="` + soapV2NS + `" xmlns:ses="` + soapContractNS + `"><s:Header>`)
	if session != "" {
		b.WriteString("<v2:token>" + xmlText(session) + "</v2:token>")
	}
	b.WriteString("</s:Header><s:Body><v2:" + op + ">" + input + "</v2:" + op + "></s:Body></s:Envelope>")
	return b.Bytes()
}

func (s *SOAP) do(ctx context.Context, op, action, session, input string, secrets []string) (map[string]string, *Error) {
	secrets = append(secrets, session)
	var sent atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				sent.Store(true)
			}
		},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, bytes.NewReader(s.envelope(action, session, input)))
	if err != nil {
		return nil, &Error{Class: ClassBadRequest, Op: op, Err: fmt.Errorf("build request: %w", err), notSent: true}
	}
	forbidReplay(req)
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"`+soapActionBase+action+`"`)
	req.Header.Set("User-Agent", s.userAgent)
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, &Error{Class: ClassTransient, Op: op, Err: err, notSent: !sent.Load()}
	}
	defer resp.Body.Close()
	buf := bufpool.Get()
	defer bufpool.Put(buf) // parseSOAP copies what it keeps
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, maxAnswer))
	data := buf.Bytes()
	if err != nil {
		e := &Error{Class: ClassTransient, Op: op, Status: resp.StatusCode, Err: fmt.Errorf("read answer: %w", err)}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return nil, e
		}
		// A 2xx cut mid-body keeps the fields that arrived whole (a new
		// password exists nowhere else), with the read error.
		fields, _ := parseSOAP(op, resp.StatusCode, data, secrets)
		return fields, e
	}
	return parseSOAP(op, resp.StatusCode, data, secrets)
}
