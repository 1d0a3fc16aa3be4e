package tsim_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/tsim"
)

// cutEnv is a simulator on loopback (a cut needs a real connection) with
// user u, its bearer and a session.
type cutEnv struct {
	t       *testing.T
	s       *tsim.Server
	url     string
	bearer  string
	session string
}

func newCutEnv(t *testing.T) *cutEnv {
	s := tsim.New(tsim.Options{AppKey: "k", AppSecret: "s", Users: map[string]string{"u": "Old!Passw0rd12"}})
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	e := &cutEnv{t: t, s: s, url: hs.URL, bearer: "Bearer " + token(t, s)}
	status, body, err := e.post(http.MethodPost, "/api/m2m/v1/session/login", `{"username":"u","password":"Old!Passw0rd12"}`)
	var out struct{ SessionToken string }
	if err != nil || status != 200 || json.Unmarshal(body, &out) != nil {
		t.Fatalf("login: %d %v %s", status, err, body)
	}
	e.session = out.SessionToken
	return e
}

// post sends a request over the network and reads the whole answer: err
// is the read's error, body what arrived before it.
func (e *cutEnv) post(method, path, body string) (int, []byte, error) {
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", e.bearer)
	req.Header.Set("Content-Type", "application/json")
	if e.session != "" {
		req.Header.Set("VZ-M2M-Token", e.session)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

func (e *cutEnv) faults(f tsim.Faults) {
	if err := e.s.SetFaults("u", f); err != nil {
		e.t.Fatal(err)
	}
}

func (e *cutEnv) user() tsim.Counters {
	c, ok := e.s.User("u")
	if !ok {
		e.t.Fatal("no user u")
	}
	return c
}

// A reset whose answer is cut: the reset is applied, the client reads a
// 200 and fewer bytes than announced, and the simulator records the
// password as delivered only when it went out whole with the byte after it.
func TestResetCutAnswers(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    tsim.Faults
	}{
		{"cut in the key", tsim.Faults{ResetCutAfter: 5}},
		{"cut inside the password", tsim.Faults{ResetCutAfter: 20}},
		{"cut before the closing quote", tsim.Faults{ResetCutAfter: 32}},
		{"cut after the closing quote", tsim.Faults{ResetCutAfter: 33}},
		{"cut before the last two bytes", tsim.Faults{ResetCutAfter: -2}},
		{"headers only", tsim.Faults{ResetCutHeaders: true}},
		{"whole", tsim.Faults{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newCutEnv(t)
			e.faults(tc.f)
			status, body, err := e.post(http.MethodPut, "/api/m2m/v1/session/password/actions/reset", `{"oldPassword":"Old!Passw0rd12"}`)
			cut := tc.f.ResetCutAfter != 0 || tc.f.ResetCutHeaders
			if status != 200 || cut != errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("status %d, read error %v (cut: %v)", status, err, cut)
			}
			u := e.user()
			if u.ResetsApplied != 1 {
				t.Fatalf("the reset was not applied: %+v", u)
			}
			whole, err := json.Marshal(map[string]string{"newPassword": u.Password})
			if err != nil {
				t.Fatal(err)
			}
			whole = append(whole, '\n')
			wantLen := len(whole)
			switch n := tc.f.ResetCutAfter; {
			case tc.f.ResetCutHeaders:
				wantLen = 0
			case n > 0:
				wantLen = n
			case n < 0:
				wantLen += n
			}
			if !bytes.HasPrefix(whole, body) || len(body) != wantLen {
				t.Fatalf("got %q, want a prefix of %q of %d bytes", body, whole, tc.f.ResetCutAfter)
			}
			// The password's last byte and its closing quote arrived.
			closing := bytes.LastIndexByte(whole, '"')
			want := len(body) > closing
			if got := u.DeliveredPassword == u.Password && u.ResetsDelivered == 1; got != want {
				t.Fatalf("delivered: %v, want %v (%d of %d bytes: %q)", got, want, len(body), len(whole), body)
			}
		})
	}
}

// A login whose answer is cut is counted by ThingSpace like any other.
func TestLoginCutAnswer(t *testing.T) {
	for _, f := range []tsim.Faults{{LoginCutAfter: 10}, {LoginCutHeaders: true}} {
		e := newCutEnv(t)
		e.session = ""
		e.faults(f)
		status, body, err := e.post(http.MethodPost, "/api/m2m/v1/session/login", `{"username":"u","password":"Old!Passw0rd12"}`)
		if status != 200 || !errors.Is(err, io.ErrUnexpectedEOF) || len(body) != f.LoginCutAfter {
			t.Fatalf("%+v: status %d, %d bytes, err %v", f, status, len(body), err)
		}
		if u := e.user(); u.LoginsOK != 2 {
			t.Fatalf("%+v: the cut login was not counted: %+v", f, u)
		}
	}
}

// The SOAP reset's answer is cut the same way; the password is escaped
// in the envelope, and delivered once its closing tag has begun.
func TestSOAPResetCutAnswer(t *testing.T) {
	s := tsim.New(tsim.Options{Users: map[string]string{"u": "Old!Passw0rd12"}})
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	soap := func(action, body string) (int, []byte, error) {
		req, err := http.NewRequest(http.MethodPost, hs.URL+soapPath, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		req.Header.Set("SOAPAction", `"`+actionBase+action+`"`)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return res.StatusCode, b, err
	}
	_, body, err := soap("LogIn", envelope(envNS, v2NS, contractNS, "", "LogIn", loginInput("Old!Passw0rd12")))
	tok := between(string(body), "<a:SessionToken>", "</a:SessionToken>")
	if err != nil || tok == "" {
		t.Fatalf("login: %v %s", err, body)
	}
	if err := s.SetFaults("u", tsim.Faults{ResetCutAfter: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	status, body, err := soap("GetNewPassword", envelope(envNS, v2NS, contractNS, "<v2:token>"+tok+"</v2:token>", "GetNewPassword",
		"<v2:Input><ses:OldPassword>Old!Passw0rd12</ses:OldPassword></v2:Input>"))
	u, _ := s.User("u")
	if status != 200 || err != nil || u.ResetsApplied != 1 || u.DeliveredPassword != u.Password {
		t.Fatalf("a cut past the end is the whole answer: %d %v %+v %s", status, err, u, body)
	}
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	j := strings.Index(s, b)
	if j < 0 {
		return ""
	}
	return s[:j]
}

// SessionUser names a session's user without using it.
func TestSessionUser(t *testing.T) {
	e := newCutEnv(t)
	if u, ok := e.s.SessionUser(e.session); !ok || u != "u" {
		t.Fatalf("SessionUser(session) = %q, %v", u, ok)
	}
	if _, ok := e.s.SessionUser("nope"); ok {
		t.Fatal("an unknown token has a user")
	}
}
