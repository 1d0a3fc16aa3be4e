package thingspace

import (
	"strings"
	"testing"
)

// soap11Fault builds a SOAP 1.1 fault; detailCode, when set, is carried as
// a detail ErrorCode element.
func soap11Fault(code, reason, detailCode string) string {
	var detail string
	if detailCode != "" {
		detail = `<detail><UwsFault xmlns="http://nphase.com/unifiedwebservice/v2"><ErrorCode>` + detailCode +
			`</ErrorCode><ErrorMessage>` + reason + `</ErrorMessage></UwsFault></detail>`
	}
	return `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode xmlns:a="urn:x">` + code +
		`</faultcode><faultstring xml:lang="en-US">` + reason + `</faultstring>` + detail + `</s:Fault></s:Body></s:Envelope>`
}

const soap12SubcodeFault = `<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><env:Fault><env:Code><env:Value>env:Sender</env:Value><env:Subcode><env:Value>a:SessionExpired</env:Value></env:Subcode></env:Code><env:Reason><env:Text xml:lang="en">Odd words.</env:Text></env:Reason></env:Fault></env:Body></env:Envelope>`

func TestSOAPFaultRule(t *testing.T) {
	tests := []struct {
		name   string
		op     string
		status int
		body   string
		class  Class
		code   string
	}{
		// A server fault is an unknown outcome, whatever its words.
		{"server fault mentioning password", opReset, 500, soap11Fault("s:Server", "Password change failed: the old password could not be verified.", ""), ClassUnknown, "Server"},
		{"server fault saying expired", opReset, 500, soap11Fault("s:Server", "The session has expired.", ""), ClassUnknown, "Server"},
		{"wcf internal fault", opReset, 500, soap11Fault("a:InternalServiceFault", "The old password is incorrect.", ""), ClassUnknown, "InternalServiceFault"},
		{"server fault with a session code", opReset, 500, soap11Fault("s:Server", "x", "UnifiedWebService.REQUEST_FAILED.SessionToken.Expired"), ClassUnknown, "REQUEST_FAILED.SessionToken.Expired"},
		{"server fault at login", opLogin, 500, soap11Fault("s:Server", "Invalid username or password.", ""), ClassUnknown, "Server"},
		// ... unless it names a refused input.
		{"server fault with input code", opReset, 500, soap11Fault("s:Server", "x", "UnifiedWebService.INPUT_INVALID.Password.OldPasswordMismatch"), ClassWrongOldPassword, "INPUT_INVALID.Password.OldPasswordMismatch"},
		// A client fault with a recognised code or documented message is a refusal.
		{"client detail code", opReset, 500, soap11Fault("s:Client", "Something odd.", "UnifiedWebService.INPUT_INVALID.Password.OldPasswordMismatch"), ClassWrongOldPassword, "INPUT_INVALID.Password.OldPasswordMismatch"},
		{"client detail code locked", opLogin, 500, soap11Fault("s:Client", "x", "UnifiedWebService.REQUEST_FAILED.Login.UserLocked"), ClassLocked, "REQUEST_FAILED.Login.UserLocked"},
		{"client dotted code", opReset, 500, soap11Fault("s:Client.SessionExpired", "x", ""), ClassSessionExpired, "Client.SessionExpired"},
		{"client subcode soap 1.2", opReset, 500, soap12SubcodeFault, ClassSessionExpired, "Sender.SessionExpired"},
		{"client session timed out", opReset, 500, soap11Fault("s:Client", "Session 4f2a timed out.", ""), ClassSessionExpired, "Client"},
		{"client documented expiry", opReset, 500, soap11Fault("s:Client", "The session has expired.", ""), ClassSessionExpired, "Client"},
		{"client words around expiry", opReset, 500, soap11Fault("s:Client", "Password reset refused: the session has expired for user x.", ""), ClassBadRequest, "Client"},
		{"client password words", opReset, 500, soap11Fault("s:Client", "Password policy violated.", ""), ClassBadRequest, "Client"},
		{"fault in a 200", opReset, 200, soap11Fault("s:Client", "The session has expired.", ""), ClassSessionExpired, "Client"},
		{"server fault in a 200", opReset, 200, soap11Fault("s:Server", "The old password is incorrect.", ""), ClassUnknown, "Server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields, e := parseSOAP(tt.op, tt.status, []byte(tt.body), nil)
			if e == nil || fields != nil {
				t.Fatalf("fields %v, err %v: want a fault", fields, e)
			}
			if e.Class != tt.class || e.Code != tt.code {
				t.Fatalf("class %v code %q, want %v %q", e.Class, e.Code, tt.class, tt.code)
			}
			res := resetResultFromError(e)
			if tt.op == opReset && tt.class == ClassUnknown && res.Outcome != ResetUnknown {
				t.Fatalf("server fault: reset outcome %v, want unknown", res.Outcome)
			}
			if tt.op == opLogin && tt.class == ClassUnknown && !MayCountUpstream(e) {
				t.Fatal("a server fault at login must count as a possible failure")
			}
		})
	}
}

// The fault text is kept (redacted) for the record whatever the class.
func TestSOAPFaultKeepsText(t *testing.T) {
	_, e := parseSOAP(opReset, 500, []byte(soap11Fault("s:Server", "Backend said: hunter2 is wrong", "Svc.REQUEST_FAILED.X")), []string{"hunter2"})
	if e == nil || !strings.Contains(e.Body, "Backend said") || strings.Contains(e.Body, "hunter2") {
		t.Fatalf("body %q", e.Body)
	}
}
