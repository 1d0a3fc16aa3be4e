package tsim

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strings"
)

const (
	soapEnvNS      = "http://schemas.xmlsoap.org/soap/envelope/"
	soapV2NS       = "http://nphase.com/unifiedwebservice/v2"
	soapContractNS = "http://schemas.datacontract.org/2004/07/NPhase.UnifiedWebService.APIs.v2.Contract.SessionService"
)

// soapRequest is what the simulator reads from a request envelope, by local
// names as a tolerant WCF service would.
type soapRequest struct {
	op     string
	fields map[string]string
}

func parseSOAPRequest(body []byte) (soapRequest, error) {
	req := soapRequest{fields: make(map[string]string)}
	d := xml.NewDecoder(bytes.NewReader(body))
	var stack []string
	var text strings.Builder
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return req, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if req.op == "" && len(stack) == 2 && stack[1] == "Body" {
				req.op = t.Name.Local
			}
			stack = append(stack, t.Name.Local)
			text.Reset()
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			name := stack[len(stack)-1]
			if _, ok := req.fields[name]; !ok {
				req.fields[name] = strings.TrimSpace(text.String())
			}
			text.Reset()
			stack = stack[:len(stack)-1]
		}
	}
	if req.op == "" {
		return req, errors.New("no operation in SOAP body")
	}
	return req, nil
}

func (s *Server) handleSOAP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequest))
	if err != nil {
		return
	}
	req, err := parseSOAPRequest(body)
	if err != nil {
		writeSOAPFault(w, "s:Client", "The message could not be read.")
		return
	}
	op := req.op
	if a := strings.Trim(r.Header.Get("SOAPAction"), `"`); a != "" {
		op = a[strings.LastIndexByte(a, '/')+1:]
	}
	switch op {
	case "LogIn":
		s.soapLogin(w, r, req)
	case "LogOut":
		if name := s.soapSession(w, r, req); name != "" {
			s.logout(req.fields["token"])
			writeSOAPResult(w, "LogOut", "")
		}
	case "GetNewPassword":
		s.soapReset(w, r, req)
	default:
		writeSOAPFault(w, "s:Client", "The operation "+op+" is not supported.")
	}
}

func (s *Server) soapLogin(w http.ResponseWriter, r *http.Request, req soapRequest) {
	name := req.fields["Username"]
	f := s.faultsOf(name)
	delay(r, f.Latency)
	tok, res := s.login(name, req.fields["Password"])
	if f.LoginFailAfter {
		writeProxyError(w)
		return
	}
	switch res {
	case loginLocked:
		writeSOAPFault(w, "s:Client", "The user account is locked. Please contact M2M support.")
	case loginBad:
		writeSOAPFault(w, "s:Client", "Invalid username or password.")
	default:
		writeSOAPResult(w, "LogIn", "<a:SessionToken>"+xmlEscape(tok)+"</a:SessionToken>")
	}
}

// soapSession checks the session in the SOAP header; it returns the user
// name, or "" after answering with a fault.
func (s *Server) soapSession(w http.ResponseWriter, r *http.Request, req soapRequest) string {
	tok := req.fields["token"]
	delay(r, s.faultsOf(s.peekSession(tok)).Latency)
	name, ok := s.useSession(tok)
	if !ok {
		writeSOAPFault(w, "s:Client", "The session has expired.")
		return ""
	}
	return name
}

func (s *Server) soapReset(w http.ResponseWriter, r *http.Request, req soapRequest) {
	name := s.soapSession(w, r, req)
	if name == "" {
		return
	}
	f := s.faultsOf(name)
	if f.ResetFailBefore {
		writeSOAPFault(w, "s:Server", "An internal error occurred while processing the request.")
		return
	}
	pw, ok := s.reset(name, req.fields["OldPassword"])
	switch {
	case !ok:
		writeSOAPFault(w, "s:Client", "The old password is incorrect.")
	case f.ResetDropAfter:
		dropConnection(w)
	case f.ResetFailAfter:
		writeProxyError(w)
	default:
		writeSOAPResult(w, "GetNewPassword", "<a:NewPassword>"+xmlEscape(pw)+"</a:NewPassword>")
	}
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func writeSOAPResult(w http.ResponseWriter, op, output string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, `<s:Envelope xmlns:s="`+soapEnvNS+`"><s:Body><`+op+`Response xmlns="`+soapV2NS+`">`+
		`<Output xmlns:a="`+soapContractNS+`" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">`+output+
		`</Output></`+op+`Response></s:Body></s:Envelope>`)
}

// writeSOAPFault answers with a SOAP 1.1 fault and HTTP 500, as WCF does.
func writeSOAPFault(w http.ResponseWriter, code, reason string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = io.WriteString(w, `<s:Envelope xmlns:s="`+soapEnvNS+`"><s:Body><s:Fault><faultcode>`+code+
		`</faultcode><faultstring xml:lang="en-US">`+xmlEscape(reason)+`</faultstring>`+
		`<detail><ErrorMessage xmlns="`+soapV2NS+`">`+xmlEscape(reason)+`</ErrorMessage></detail></s:Fault></s:Body></s:Envelope>`)
}
