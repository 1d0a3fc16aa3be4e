package thingspace

import (
	"regexp"
	"strings"
)

// soapFault is what an s:Fault says: SOAP 1.1 faultcode (with optional
// dotted sub-codes, "s:Client.SessionExpired"), faultstring and detail, or
// SOAP 1.2 Code/Value, Code/Subcode/Value, Reason/Text and Detail. A leaf
// named ErrorCode (or Code, FaultCode) inside the detail is the service's
// own code.
type soapFault struct {
	code       string   // main code, local name: "Client", "Server", "Sender", "InternalServiceFault"
	subcodes   []string // dotted parts and SOAP 1.2 sub-codes, local names
	reason     strings.Builder
	detail     strings.Builder // all detail text, for the record
	detailCode string          // service code from the detail, prefix stripped
}

// element records one closed element of the fault; rel is its depth below
// Fault (1 for faultcode/Code, 2 for Code/Value, 3+ for Subcode values).
func (f *soapFault) element(name, txt string, rel int, detailLeaf bool) {
	switch {
	case detailLeaf:
		if f.detailCode == "" && txt != "" && (strings.EqualFold(name, "ErrorCode") || strings.EqualFold(name, "Code") || strings.EqualFold(name, "FaultCode")) {
			f.detailCode = stripServicePrefix(txt)
		}
	case name == "faultcode" && rel == 1:
		parts := strings.Split(localName(txt), ".")
		f.code, f.subcodes = parts[0], append(f.subcodes, parts[1:]...)
	case name == "Value" && rel == 2:
		f.code = localName(txt)
	case name == "Value" && rel > 2:
		f.subcodes = append(f.subcodes, localName(txt))
	case (name == "faultstring" && rel == 1) || (name == "Text" && rel == 2):
		if f.reason.Len() < maxSOAPText {
			f.reason.WriteString(txt)
		}
	}
}

func localName(qname string) string {
	qname = strings.TrimSpace(qname)
	if i := strings.LastIndexByte(qname, ':'); i >= 0 {
		return qname[i+1:]
	}
	return qname
}

// error turns the fault into a classified *Error. Code is the detail code
// if any, else the fault code with its sub-codes.
func (f *soapFault) error(op string, status int, secrets []string) *Error {
	code := f.detailCode
	if code == "" {
		code = strings.Join(append([]string{f.code}, f.subcodes...), ".")
		if f.code == "" && len(f.subcodes) > 0 {
			code = strings.Join(f.subcodes, ".")
		}
	}
	text := strings.TrimSpace(f.reason.String() + " " + f.detail.String())
	return &Error{
		Op:     op,
		Class:  f.classify(op),
		Code:   scrub(code, maxCode, secrets),
		Status: status,
		Body:   scrub(text, maxBody, secrets),
	}
}

// classify is the one rule for SOAP faults. The text of a fault is never
// searched for words: a server-side message that mentions a password or an
// expiry says nothing about whether the request was applied.
//
//   - A client fault (Client, Sender) is a definite refusal: the service
//     says the request itself was wrong, so nothing changed. Its class comes
//     from its code (detail ErrorCode, dotted or SOAP 1.2 sub-code) when that
//     names a session, lock, credential or old-password problem, else from
//     the documented messages in faultMessages (whole message, not a
//     substring), else ClassBadRequest.
//   - Any other fault (Server, Receiver, WCF's InternalServiceFault, none)
//     is ClassUnknown: a reset that ended in it may have been applied, and a
//     login may have been counted. The one exception is a detail code in
//     the INPUT_INVALID category, which documents an input refused before
//     anything was done; it is classified by that code.
//
// So ClassSessionExpired, the one class that makes Client log in again and
// repeat a reset, comes only from a fault that proves the reset was not
// applied.
func (f *soapFault) classify(op string) Class {
	if !strings.EqualFold(f.code, "Client") && !strings.EqualFold(f.code, "Sender") {
		if strings.HasPrefix(f.detailCode, "INPUT_INVALID.") {
			return classifyM2MCode(op, f.detailCode)
		}
		return ClassUnknown
	}
	for _, c := range append([]string{f.detailCode}, f.subcodes...) {
		if c == "" {
			continue
		}
		if class := classifyM2MCode(op, c); class != ClassBadRequest {
			return class
		}
	}
	return classifyFaultMessage(op, f.reason.String())
}

// faultMessages are the documented (docs/thingspace.md) and observed whole fault
// messages of the SessionService, lower case without the final period. They
// are read only on client faults.
var faultMessages = map[string]struct {
	op    string // "" for any operation
	class Class
}{
	"the session has expired":       {"", ClassSessionExpired},
	"invalid username or password":  {opLogin, ClassInvalidCredentials},
	"the user account is locked":    {"", ClassLocked},
	"the old password is incorrect": {opReset, ClassWrongOldPassword},
}

// sessionTimedOut is the "Session <id> timed out." form of an expiry.
var sessionTimedOut = regexp.MustCompile(`^(the )?session( [\w-]+)? (has )?timed out$`)

// classifyFaultMessage matches the first sentence of a client fault's
// message against faultMessages.
func classifyFaultMessage(op, msg string) Class {
	m := strings.ToLower(strings.TrimSpace(msg))
	if i := strings.Index(m, ". "); i >= 0 {
		m = m[:i]
	}
	m = strings.TrimSuffix(m, ".")
	if fm, ok := faultMessages[m]; ok && (fm.op == "" || fm.op == op) {
		return fm.class
	}
	if sessionTimedOut.MatchString(m) {
		return ClassSessionExpired
	}
	return ClassBadRequest
}
