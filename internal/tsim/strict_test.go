package tsim_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/tsim"
)

const (
	envNS      = "http://schemas.xmlsoap.org/soap/envelope/"
	v2NS       = "http://nphase.com/unifiedwebservice/v2"
	contractNS = "http://schemas.datacontract.org/2004/07/NPhase.UnifiedWebService.APIs.v2.Contract.SessionService"
	actionBase = "http://nphase.com/unifiedwebservice/v2/ISessionService/"
	soapPath   = "/api/v2/SessionService.svc"
	userPW     = "Right!Passw0rd"
)

func envelope(env, v2, ses, header, op, input string) string {
	return `<s:Envelope xmlns:s="` + env + `" xmlns:v2="` + v2 + `" xmlns:ses="` + ses + `"><s:Header>` + header +
		`</s:Header><s:Body><v2:` + op + `>` + input + `</v2:` + op + `></s:Body></s:Envelope>`
}

func loginInput(pw string) string {
	return `<v2:Input><ses:Username>u</ses:Username><ses:Password>` + pw + `</ses:Password></v2:Input>`
}

func soapCall(t *testing.T, s http.Handler, action, body string) *httptest.ResponseRecorder {
	t.Helper()
	hdr := map[string]string{"Content-Type": "text/xml; charset=utf-8"}
	if action != "" {
		hdr["SOAPAction"] = `"` + action + `"`
	}
	return do(t, s, http.MethodPost, soapPath, body, hdr)
}

func TestSOAPStrictEnvelope(t *testing.T) {
	s := tsim.New(tsim.Options{Users: map[string]string{"u": userPW}})
	good := envelope(envNS, v2NS, contractNS, "", "LogIn", loginInput(userPW))
	tests := []struct {
		name, action, body, want string
	}{
		{"soap 1.2 envelope", actionBase + "LogIn", envelope("http://www.w3.org/2003/05/soap-envelope", v2NS, contractNS, "", "LogIn", loginInput(userPW)), "VersionMismatch"},
		{"no SOAPAction", "", good, "ActionNotSupported"},
		{"wrong action base", "http://tempuri.org/ISessionService/LogIn", good, "ActionNotSupported"},
		{"action of another operation", actionBase + "LogOut", good, "ActionNotSupported"},
		{"operation in another namespace", actionBase + "LogIn", envelope(envNS, "http://tempuri.org/", contractNS, "", "LogIn", loginInput(userPW)), "Request.Malformed"},
		{"members in another namespace", actionBase + "LogIn", envelope(envNS, v2NS, "urn:other", "", "LogIn", loginInput(userPW)), "Request.Malformed"},
		{"no token header", actionBase + "GetNewPassword", envelope(envNS, v2NS, contractNS, "", "GetNewPassword", `<v2:Input><ses:OldPassword>x</ses:OldPassword></v2:Input>`), "SessionToken.Missing"},
		{"token in another namespace", actionBase + "LogOut", envelope(envNS, v2NS, contractNS, `<token xmlns="urn:x">abc</token>`, "LogOut", ""), "SessionToken.Missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := soapCall(t, s, tt.action, tt.body)
			if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), "<s:Fault>") || !strings.Contains(w.Body.String(), tt.want) {
				t.Fatalf("%d %s; want a fault naming %s", w.Code, w.Body, tt.want)
			}
		})
	}
	if c, _ := s.User("u"); c.LoginFailures != 0 || c.LoginsOK != 0 {
		t.Fatalf("an undispatchable request reached the login: %+v", c)
	}
	w := soapCall(t, s, actionBase+"LogIn", good)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "SessionToken>") {
		t.Fatalf("a well-formed login: %d %s", w.Code, w.Body)
	}
}

func TestSOAPFaultCarriesCodeAndMay200(t *testing.T) {
	s := tsim.New(tsim.Options{Users: map[string]string{"u": userPW}})
	bad := envelope(envNS, v2NS, contractNS, "", "LogIn", loginInput("wrong"))
	w := soapCall(t, s, actionBase+"LogIn", bad)
	if w.Code != 500 || !strings.Contains(w.Body.String(), "<ErrorCode>UnifiedWebService.INPUT_INVALID.Login.InvalidCredentials</ErrorCode>") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if w := do(t, s, http.MethodPut, "/_tsim/users/u/faults", `{"soap_fault_200":true}`, nil); w.Code != 204 {
		t.Fatalf("faults: %d %s", w.Code, w.Body)
	}
	if w := soapCall(t, s, actionBase+"LogIn", bad); w.Code != 200 || !strings.Contains(w.Body.String(), "<s:Fault>") {
		t.Fatalf("fault in a 200: %d %s", w.Code, w.Body)
	}
}

func TestRESTErrorsCarryPrefixedCodes(t *testing.T) {
	clock := tsim.NewClock(time.Unix(0, 0))
	s := tsim.New(tsim.Options{AppKey: "k", AppSecret: "s", Now: clock.Now, Users: map[string]string{"u": userPW}})
	bearer := map[string]string{"Authorization": "Bearer " + token(t, s)}
	sess := map[string]string{"Authorization": bearer["Authorization"], "VZ-M2M-Token": "no-such-session"}
	answers := []*httptest.ResponseRecorder{
		do(t, s, http.MethodPost, "/api/m2m/v1/session/login", `{"username":"u","password":"bad"}`, bearer),
		do(t, s, http.MethodPost, "/api/m2m/v1/session/login", `not json`, bearer),
		do(t, s, http.MethodPost, "/api/m2m/v1/devices/actions/list", `{}`, sess),
		do(t, s, http.MethodPost, "/api/m2m/v1/session/logout", ``, bearer),
		do(t, s, http.MethodPut, "/api/m2m/v1/session/password/actions/reset", `{"oldPassword":"x"}`, sess),
	}
	for i, w := range answers {
		var e struct{ ErrorCode, ErrorMessage string }
		if w.Code != 400 || json.Unmarshal(w.Body.Bytes(), &e) != nil || !strings.HasPrefix(e.ErrorCode, "UnifiedWebService.") || e.ErrorMessage == "" {
			t.Errorf("answer %d: %d %s; want a 400 with a prefixed errorCode", i, w.Code, w.Body)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	for _, bad := range []string{"Sh0rt!a", "alllower!", "ALLUPPER!", "NoSymbol1", "Abc!12345x", "Zyx!edcba", ""} {
		if tsim.CheckPassword(bad) == nil {
			t.Errorf("CheckPassword(%q) accepted", bad)
		}
	}
	for _, good := range []string{"Eight!ch", "Right!Passw0rd", "Gl4cier#Orbit-Maple7", "Xk9!mQ2#vL7p"} {
		if err := tsim.CheckPassword(good); err != nil {
			t.Errorf("CheckPassword(%q): %v", good, err)
		}
	}
	s := tsim.New(tsim.Options{})
	if w := do(t, s, http.MethodPut, "/_tsim/users/u", `{"password":"password1"}`, nil); w.Code != 400 || !strings.Contains(w.Body.String(), "upper-case") {
		t.Fatalf("a weak password through the admin API: %d %s", w.Code, w.Body)
	}
	if _, ok := s.User("u"); ok {
		t.Fatal("the refused user was created")
	}
}

func TestAdminFaultsValidated(t *testing.T) {
	s := tsim.New(tsim.Options{Users: map[string]string{"u": userPW}})
	if w := do(t, s, http.MethodPut, "/_tsim/users/u/faults", `{"unauthorized_401_next":"teapot"}`, nil); w.Code != 400 {
		t.Fatalf("an unknown 401 body: %d", w.Code)
	}
	if w := do(t, s, http.MethodPut, "/_tsim/token/faults", `{"latency_ms":-1}`, nil); w.Code != 400 {
		t.Fatalf("a negative latency: %d", w.Code)
	}
	for _, body := range []string{`{"unauthorized_401_next":"html"}`, `{"throttle_429":true,"retry_after_s":3}`, `{"reset_malformed_200":true}`} {
		if w := do(t, s, http.MethodPut, "/_tsim/users/u/faults", body, nil); w.Code != 204 {
			t.Fatalf("%s: %d %s", body, w.Code, w.Body)
		}
	}
	if w := do(t, s, http.MethodPut, "/_tsim/token/faults", `{"latency_ms":5}`, nil); w.Code != 204 {
		t.Fatalf("token faults: %d", w.Code)
	}
	if w := do(t, s, http.MethodDelete, "/_tsim/token/faults", ``, nil); w.Code != 204 {
		t.Fatalf("clear token faults: %d", w.Code)
	}
}
