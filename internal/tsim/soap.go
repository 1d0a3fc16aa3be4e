package tsim

import (
	"encoding/xml"
	"io"
	"net/http"
	"strings"
)

func (s *Server) handleSOAP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequest))
	if err != nil {
		return
	}
	req, err := parseSOAPRequest(body)
	if err != nil {
		writeSOAPFault(w, "s:Client", codeMalformed, "The message could not be read.")
		return
	}
	if !req.check(w, r) {
		return
	}
	user := req.fields["Username"]
	if req.op.Local != "LogIn" {
		user = s.peekSession(req.token)
	}
	if s.faultsOf(user).SOAPFault200 {
		w = fault200Writer{w}
	}
	switch req.op.Local {
	case "LogIn":
		s.soapLogin(w, r, req)
	case "LogOut":
		if name := s.soapSession(w, r, req); name != "" {
			s.logout(req.token)
			writeSOAPResult(w, "LogOut", "")
		}
	case "GetNewPassword":
		s.soapReset(w, r, req)
	}
}

// fault200Writer sends a SOAP fault with HTTP 200, as some WCF hosts do.
type fault200Writer struct{ http.ResponseWriter }

func (f fault200Writer) WriteHeader(status int) {
	if status == http.StatusInternalServerError {
		status = http.StatusOK
	}
	f.ResponseWriter.WriteHeader(status)
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
		writeSOAPFault(w, "s:Client", codeUserLocked, "The user account is locked. Please contact M2M support.")
	case loginBad:
		writeSOAPFault(w, "s:Client", codeInvalidCredentials, "Invalid username or password.")
	default:
		answerLogin(w, soapContentType, soapResult("LogIn", "<a:SessionToken>"+xmlEscape(tok)+"</a:SessionToken>"), f)
	}
}

// soapSession checks the session in the SOAP header; it returns the user
// name, or "" after answering with a fault.
func (s *Server) soapSession(w http.ResponseWriter, r *http.Request, req soapRequest) string {
	delay(r, s.faultsOf(s.peekSession(req.token)).Latency)
	name, ok := s.useSession(req.token)
	if !ok {
		writeSOAPFault(w, "s:Client", codeSessionExpired, "The session has expired.")
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
		writeSOAPFault(w, "s:Server", codeUnexpected, "An internal error occurred while processing the request.")
		return
	}
	pw, ok := s.reset(name, req.fields["OldPassword"])
	switch {
	case !ok:
		writeSOAPFault(w, "s:Client", codeOldPassword, "The old password is incorrect.")
	case f.ResetDropAfter:
		dropConnection(w)
	case f.ResetFailAfter:
		writeProxyError(w)
	case f.ResetMalformed200:
		// The password arrives whole; the envelope breaks after it.
		body := `<s:Envelope xmlns:s="` + soapEnvNS + `"><s:Body><GetNewPasswordResponse xmlns="` + soapV2NS +
			`"><Output xmlns:a="` + soapContractNS + `"><a:NewPassword>` + xmlEscape(pw) + `</a:NewPassword></Output></GetNewPassword` + malformedTail
		s.answerReset(w, name, pw, xmlEscape(pw), soapContentType, []byte(body), f)
	default:
		s.answerReset(w, name, pw, xmlEscape(pw), soapContentType, soapResult("GetNewPassword", "<a:NewPassword>"+xmlEscape(pw)+"</a:NewPassword>"), f)
	}
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

const soapContentType = "text/xml; charset=utf-8"

func writeSOAPResult(w http.ResponseWriter, op, output string) {
	w.Header().Set("Content-Type", soapContentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(soapResult(op, output))
}

// soapResult is the envelope of op's answer carrying output.
func soapResult(op, output string) []byte {
	return []byte(`<s:Envelope xmlns:s="` + soapEnvNS + `"><s:Body><` + op + `Response xmlns="` + soapV2NS + `">` +
		`<Output xmlns:a="` + soapContractNS + `" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">` + output +
		`</Output></` + op + `Response></s:Body></s:Envelope>`)
}

// writeSOAPFault answers with a SOAP 1.1 fault and HTTP 500, as WCF does.
// errCode, when set, is the service's coded error (with its service
// prefix), carried in the detail next to the message.
func writeSOAPFault(w http.ResponseWriter, code, errCode, reason string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	detail := `<detail><UwsFault xmlns="` + soapV2NS + `">`
	if errCode != "" {
		detail += `<ErrorCode>` + xmlEscape(errCode) + `</ErrorCode>`
	}
	detail += `<ErrorMessage>` + xmlEscape(reason) + `</ErrorMessage></UwsFault></detail>`
	_, _ = io.WriteString(w, `<s:Envelope xmlns:s="`+soapEnvNS+`"><s:Body><s:Fault><faultcode xmlns:a="`+wcfAddressing+`">`+code+
		`</faultcode><faultstring xml:lang="en-US">`+xmlEscape(reason)+`</faultstring>`+detail+`</s:Fault></s:Body></s:Envelope>`)
}
