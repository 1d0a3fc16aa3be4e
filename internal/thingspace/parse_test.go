package thingspace

import (
	"strings"
	"testing"
)

func TestParseRESTErrorClasses(t *testing.T) {
	const pw = "Secr3t!Passw0rd"
	tests := []struct {
		name     string
		op       string
		status   int
		body     string
		class    Class
		code     string
		mustHide string // a secret that must not survive in Body
	}{
		{"invalid credentials", opLogin, 400, `{"errorCode":"UnifiedWebService.INPUT_INVALID.Login.InvalidCredentials","errorMessage":"Invalid username or password."}`, ClassInvalidCredentials, "INPUT_INVALID.Login.InvalidCredentials", ""},
		{"bad password variant", opLogin, 400, `{"errorCode":"UnifiedWebService.REQUEST_FAILED.InvalidPassword","errorMessage":"x"}`, ClassInvalidCredentials, "REQUEST_FAILED.InvalidPassword", ""},
		{"unknown user", opLogin, 400, `{"errorCode":"UnifiedWebService.REQUEST_FAILED.UserNotFound","errorMessage":"x"}`, ClassInvalidCredentials, "REQUEST_FAILED.UserNotFound", ""},
		{"locked", opLogin, 400, `{"errorCode":"UnifiedWebService.REQUEST_FAILED.Login.UserLocked","errorMessage":"The user is locked."}`, ClassLocked, "REQUEST_FAILED.Login.UserLocked", ""},
		{"disabled", opLogin, 400, `{"errorCode":"UnifiedWebService.REQUEST_FAILED.AccountDisabled","errorMessage":""}`, ClassLocked, "REQUEST_FAILED.AccountDisabled", ""},
		{"session expired", opCall, 400, `{"errorCode":"UnifiedWebService.REQUEST_FAILED.SessionToken.Expired","errorMessage":"Session token is expired."}`, ClassSessionExpired, "REQUEST_FAILED.SessionToken.Expired", ""},
		{"session invalid at reset", opReset, 400, `{"errorCode":"UnifiedWebService.INPUT_INVALID.SessionToken.Invalid","errorMessage":""}`, ClassSessionExpired, "INPUT_INVALID.SessionToken.Invalid", ""},
		{"wrong old password", opReset, 400, `{"errorCode":"UnifiedWebService.INPUT_INVALID.Password.OldPasswordMismatch","errorMessage":"The old password is incorrect."}`, ClassWrongOldPassword, "INPUT_INVALID.Password.OldPasswordMismatch", ""},
		{"account not found is a bad request", opCall, 400, `{"errorCode":"UnifiedWebService.REQUEST_FAILED.AccountNotFound","errorMessage":"x"}`, ClassBadRequest, "REQUEST_FAILED.AccountNotFound", ""},
		{"no prefix", opCall, 400, `{"errorCode":"REQUEST_FAILED.SessionToken.Expired"}`, ClassSessionExpired, "REQUEST_FAILED.SessionToken.Expired", ""},
		{"bearer invalid", opLogin, 401, `{"fault":{"code":900901,"message":"Invalid Credentials","description":"Access failure for API: /api/m2m/v1, version: v1 status: (900901) - Invalid Credentials."}}`, ClassBearerRejected, "900901", ""},
		{"bearer missing", opCall, 401, `{"fault":{"code":900902,"message":"Missing Credentials","description":"x"}}`, ClassBearerRejected, "900902", ""},
		{"bearer code as string", opCall, 401, `{"fault":{"code":"900901","message":"Invalid Credentials"}}`, ClassBearerRejected, "900901", ""},
		{"no matching resource", opCall, 404, `{"fault":{"code":900906,"message":"No matching resource found"}}`, ClassBadRequest, "900906", ""},
		{"throttled", opCall, 429, `{"fault":{"code":900800,"message":"Message throttled out"}}`, ClassThrottled, "900800", ""},
		{"html proxy page", opReset, 502, `<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>`, ClassTransient, "", ""},
		{"empty 503", opLogin, 503, ``, ClassTransient, "", ""},
		{"truncated json 400", opLogin, 400, `{"errorCode":"UnifiedWebService.INPUT_INV`, ClassBadRequest, "", ""},
		{"5xx with code", opReset, 500, `{"errorCode":"UnifiedWebService.REQUEST_FAILED.UnexpectedError","errorMessage":"x"}`, ClassTransient, "REQUEST_FAILED.UnexpectedError", ""},
		{"oauth invalid client", opToken, 401, `{"error":"invalid_client","error_description":"Client Authentication failed."}`, ClassBearerRejected, "invalid_client", ""},
		{"unparsable 200", opReset, 200, `{"newPassword":"` + pw, ClassUnknown, "", pw},
		{"echoed password", opLogin, 400, `{"errorCode":"UnifiedWebService.INPUT_INVALID.Login.InvalidCredentials","errorMessage":"bad password ` + pw + `"}`, ClassInvalidCredentials, "INPUT_INVALID.Login.InvalidCredentials", pw},
		{"echoed token field", opCall, 400, `{"errorCode":"X.REQUEST_FAILED.SessionToken.Expired","sessionToken":"tok-abc-123"}`, ClassSessionExpired, "REQUEST_FAILED.SessionToken.Expired", "tok-abc-123"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := parseRESTError(tt.op, tt.status, []byte(tt.body), []string{pw})
			if e.Class != tt.class {
				t.Errorf("class = %v, want %v", e.Class, tt.class)
			}
			if e.Code != tt.code {
				t.Errorf("code = %q, want %q", e.Code, tt.code)
			}
			if e.Status != tt.status {
				t.Errorf("status = %d, want %d", e.Status, tt.status)
			}
			if tt.mustHide != "" && strings.Contains(e.Body, tt.mustHide) {
				t.Errorf("body %q reveals %q", e.Body, tt.mustHide)
			}
			if strings.Contains(e.Error(), pw) {
				t.Errorf("Error() %q reveals the password", e.Error())
			}
		})
	}
}

func TestParseRESTErrorTruncates(t *testing.T) {
	e := parseRESTError(opCall, 502, []byte(strings.Repeat("é", 2000)), nil)
	if len(e.Body) > maxBody || !strings.HasPrefix(e.Body, "é") || strings.ContainsRune(e.Body, '\uFFFD') {
		t.Fatalf("body of %d bytes not cut cleanly at %d", len(e.Body), maxBody)
	}
}

const soapFaultTmpl = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:%s</faultcode><faultstring xml:lang="en-US">%s</faultstring><detail><ErrorMessage xmlns="http://nphase.com/unifiedwebservice/v2">%s</ErrorMessage></detail></s:Fault></s:Body></s:Envelope>`

func faultEnvelope(code, reason string) string {
	return strings.NewReplacer("s:%s", "s:"+code, "US\">%s", "US\">"+reason, "v2\">%s", "v2\">"+reason).Replace(soapFaultTmpl)
}

func TestParseSOAP(t *testing.T) {
	const pw = "Secr3t!Passw0rd"
	ok := `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header/><s:Body><LogInResponse xmlns="http://nphase.com/unifiedwebservice/v2"><Output xmlns:a="urn:c"><a:SessionToken>tok-1</a:SessionToken></Output></LogInResponse></s:Body></s:Envelope>`
	fields, e := parseSOAP(opLogin, 200, []byte(ok), nil)
	if e != nil || fields["SessionToken"] != "tok-1" {
		t.Fatalf("fields %v, err %v", fields, e)
	}
	soap12 := `<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><env:Fault><env:Code><env:Value>env:Sender</env:Value></env:Code><env:Reason><env:Text xml:lang="en">The session has expired.</env:Text></env:Reason></env:Fault></env:Body></env:Envelope>`
	tests := []struct {
		name   string
		op     string
		status int
		body   string
		class  Class
		code   string
	}{
		{"session expired", opReset, 500, faultEnvelope("Client", "The session has expired."), ClassSessionExpired, "Client"},
		{"session expired soap 1.2", opLogout, 500, soap12, ClassSessionExpired, "Sender"},
		{"invalid credentials", opLogin, 500, faultEnvelope("Client", "Invalid username or password."), ClassInvalidCredentials, "Client"},
		{"locked", opLogin, 500, faultEnvelope("Client", "The user account is locked."), ClassLocked, "Client"},
		{"wrong old password", opReset, 500, faultEnvelope("Client", "The old password is incorrect."), ClassWrongOldPassword, "Client"},
		{"unknown client fault", opLogout, 500, faultEnvelope("Client", "Something odd."), ClassBadRequest, "Client"},
		{"server fault", opReset, 500, faultEnvelope("Server", "An internal error occurred."), ClassUnknown, "Server"},
		{"html 503", opReset, 503, `<html><body>Service Unavailable</body></html>`, ClassTransient, ""},
		{"truncated 200", opReset, 200, `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetNewPasswordResponse><Output><a:NewPassword>` + pw, ClassUnknown, ""},
		{"empty 500", opLogin, 500, ``, ClassTransient, ""},
		{"fault echoes password", opLogin, 500, faultEnvelope("Client", "Invalid password "+pw), ClassBadRequest, "Client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, e := parseSOAP(tt.op, tt.status, []byte(tt.body), []string{pw})
			if e == nil {
				t.Fatal("no error")
			}
			if e.Class != tt.class || e.Code != tt.code {
				t.Errorf("class %v code %q, want %v %q (body %q)", e.Class, e.Code, tt.class, tt.code, e.Body)
			}
			if strings.Contains(e.Body, pw) || strings.Contains(e.Error(), pw) {
				t.Errorf("error reveals the password: %q / %q", e.Body, e.Error())
			}
		})
	}
}

func TestStripServicePrefix(t *testing.T) {
	for in, want := range map[string]string{
		"UnifiedWebService.REQUEST_FAILED.SessionToken.Expired": "REQUEST_FAILED.SessionToken.Expired",
		"A.B.INPUT_INVALID.X":   "INPUT_INVALID.X",
		"NoCategory.Here":       "NoCategory.Here",
		"REQUEST_FAILED":        "REQUEST_FAILED",
		" Svc.REQUEST_FAILED.X": "REQUEST_FAILED.X",
	} {
		if got := stripServicePrefix(in); got != want {
			t.Errorf("stripServicePrefix(%q) = %q, want %q", in, got, want)
		}
	}
}

func checkNoSecret(t *testing.T, e *Error, pw string) {
	t.Helper()
	if e == nil || pw == "" {
		return
	}
	if strings.Contains(e.Body, pw) {
		t.Fatalf("Body %q contains the password %q", e.Body, pw)
	}
	if strings.Contains(e.Code, pw) {
		t.Fatalf("Code %q contains the password %q", e.Code, pw)
	}
	if len(e.Body) > maxBody || len(e.Code) > maxCode {
		t.Fatalf("body %d / code %d bytes over the limit", len(e.Body), len(e.Code))
	}
}

func FuzzParseRESTError(f *testing.F) {
	f.Add(400, []byte(`{"errorCode":"UnifiedWebService.INPUT_INVALID.Login.InvalidCredentials","errorMessage":"bad Secr3t!Pw"}`), "Secr3t!Pw")
	f.Add(401, []byte(`{"fault":{"code":900901,"message":"Invalid Credentials"}}`), "x")
	f.Add(502, []byte(`<html><title>502</title></html>`), "Passw0rd!")
	f.Add(200, []byte(`{"newPassword":"Abc!12345678`), "Abc!12345678")
	f.Add(400, []byte(`{"errorCode":"Svc.REQUEST_FAILED.Pw_hunter2","password":"hunter2"}`), "hunter2")
	f.Add(500, []byte{0xff, 0xfe, 'p', 'w'}, "pw")
	f.Fuzz(func(t *testing.T, status int, body []byte, pw string) {
		for _, op := range []string{opLogin, opLogout, opReset, opToken, opCall} {
			e := parseRESTError(op, status, body, []string{pw})
			if e == nil {
				t.Fatal("nil error")
			}
			checkNoSecret(t, e, pw)
			_ = e.Error()
		}
	})
}

func FuzzParseSOAP(f *testing.F) {
	f.Add(500, []byte(faultEnvelope("Client", "The session has expired.")), "pw")
	f.Add(500, []byte(faultEnvelope("Client", "Invalid password Secr3t!Pw")), "Secr3t!Pw")
	f.Add(200, []byte(`<s:Envelope xmlns:s="x"><s:Body><R><a:NewPassword>N3w!Passw0rd</a:NewPassword></R></s:Body></s:Envelope>`), "N3w!Passw0rd")
	f.Add(200, []byte(`<s:Envelope><s:Body><R><Password>old`), "old")
	f.Add(503, []byte(`<html>`), "")
	f.Fuzz(func(t *testing.T, status int, body []byte, pw string) {
		for _, op := range []string{opLogin, opLogout, opReset} {
			fields, e := parseSOAP(op, status, body, []string{pw})
			switch {
			case fields == nil && e == nil:
				t.Fatal("neither fields nor an error")
			case fields != nil && e != nil && (status < 200 || status > 299 || e.Class != ClassUnknown):
				// only an unreadable 2xx keeps what it read before the flaw
				t.Fatalf("fields %v with error %v", fields, e)
			}
			checkNoSecret(t, e, pw)
			if e != nil {
				_ = e.Error()
			}
		}
	})
}
