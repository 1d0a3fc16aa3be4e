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

func do(t *testing.T, h http.Handler, method, path, body string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func token(t *testing.T, s *tsim.Server) string {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/api/ts/v1/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	r.SetBasicAuth("k", "s")
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &out) != nil || out.AccessToken == "" {
		t.Fatalf("token: %d %s", w.Code, w.Body)
	}
	return out.AccessToken
}

func TestTokenSameWhileValid(t *testing.T) {
	clock := tsim.NewClock(time.Unix(0, 0))
	s := tsim.New(tsim.Options{AppKey: "k", AppSecret: "s", Now: clock.Now})
	a := token(t, s)
	clock.Advance(59 * time.Minute)
	if b := token(t, s); b != a {
		t.Fatal("a valid token was replaced")
	}
	clock.Advance(2 * time.Minute)
	if b := token(t, s); b == a {
		t.Fatal("an expired token was returned again")
	}
	w := do(t, s, http.MethodPost, "/api/m2m/v1/session/login", `{"username":"u","password":"p"}`, map[string]string{"Authorization": "Bearer " + a})
	if w.Code != 401 || !strings.Contains(w.Body.String(), "900901") {
		t.Fatalf("expired bearer: %d %s", w.Code, w.Body)
	}
	w = do(t, s, http.MethodPost, "/api/m2m/v1/session/login", `{}`, nil)
	if w.Code != 401 || !strings.Contains(w.Body.String(), "900902") {
		t.Fatalf("missing bearer: %d %s", w.Code, w.Body)
	}
}

func TestLockoutStickyAndAdminAPI(t *testing.T) {
	clock := tsim.NewClock(time.Unix(0, 0))
	s := tsim.New(tsim.Options{AppKey: "k", AppSecret: "s", Now: clock.Now, Users: map[string]string{"u": "Right!Passw0rd"}})
	bearer := map[string]string{"Authorization": "Bearer " + token(t, s)}
	login := func(pw string) *httptest.ResponseRecorder {
		return do(t, s, http.MethodPost, "/api/m2m/v1/session/login", `{"username":"u","password":"`+pw+`"}`, bearer)
	}
	for i := range 6 {
		if w := login("bad"); w.Code != 400 {
			t.Fatalf("attempt %d: %d", i, w.Code)
		}
	}
	if w := login("Right!Passw0rd"); w.Code != 400 || !strings.Contains(w.Body.String(), "UserLocked") {
		t.Fatalf("locked account accepted the right password: %d %s", w.Code, w.Body)
	}
	w := do(t, s, http.MethodGet, "/_tsim/users/u", "", nil)
	var c tsim.Counters
	if err := json.Unmarshal(w.Body.Bytes(), &c); err != nil {
		t.Fatal(err)
	}
	if !c.Locked || c.MaxConsecutiveFailures != 7 || c.LoginFailures != 7 || c.Password != "Right!Passw0rd" {
		t.Fatalf("counters %+v", c)
	}
	if w := do(t, s, http.MethodPost, "/_tsim/users/u/unlock", "", nil); w.Code != 204 {
		t.Fatalf("unlock: %d", w.Code)
	}
	if w := do(t, s, http.MethodPut, "/_tsim/users/u", `{"password":"New!Passw0rd1"}`, nil); w.Code != 204 {
		t.Fatalf("set user: %d", w.Code)
	}
	w = login("New!Passw0rd1")
	var out struct{ SessionToken string }
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &out) != nil || out.SessionToken == "" {
		t.Fatalf("login after unlock: %d %s", w.Code, w.Body)
	}
	// Idle expiry.
	sess := map[string]string{"Authorization": bearer["Authorization"], "VZ-M2M-Token": out.SessionToken}
	if w := do(t, s, http.MethodPost, "/api/m2m/v1/devices/actions/list", `{}`, sess); w.Code != 200 {
		t.Fatalf("call: %d %s", w.Code, w.Body)
	}
	clock.Advance(21 * time.Minute)
	if w := do(t, s, http.MethodPost, "/api/m2m/v1/devices/actions/list", `{}`, sess); w.Code != 400 || !strings.Contains(w.Body.String(), "SessionToken.Expired") {
		t.Fatalf("idle session accepted: %d %s", w.Code, w.Body)
	}
	// Faults through the admin API.
	if w := do(t, s, http.MethodPut, "/_tsim/users/u/faults", `{"reset_5xx_after":true,"latency_ms":5}`, nil); w.Code != 204 {
		t.Fatalf("faults: %d", w.Code)
	}
	if w := do(t, s, http.MethodDelete, "/_tsim/users/u/faults", "", nil); w.Code != 204 {
		t.Fatalf("clear faults: %d", w.Code)
	}
	w = do(t, s, http.MethodGet, "/_tsim/stats", "", nil)
	var st tsim.Stats
	if json.Unmarshal(w.Body.Bytes(), &st) != nil || st.LoginFailures != 7 || st.LoginsOK != 1 || st.Calls != 1 {
		t.Fatalf("stats %s", w.Body)
	}
}

func TestGeneratedPasswordsMeetPolicy(t *testing.T) {
	for _, bad := range []string{"short1!A", "alllowercase1!", "NOLOWER123!!", "NoDigits!!here", "NoSymbol123abc", "Ab!1abcd5678z", "Ab!1zzzzq9x8w"} {
		if tsim.MeetsPolicy(bad) {
			t.Errorf("MeetsPolicy(%q) = true", bad)
		}
	}
	if !tsim.MeetsPolicy("Xk9!mQ2#vL7p") {
		t.Error("a good password was refused")
	}
	s := tsim.New(tsim.Options{AppKey: "k", AppSecret: "s", Users: map[string]string{"u": "Old!Passw0rd12"}})
	bearer := "Bearer " + token(t, s)
	seen := map[string]bool{}
	pw := "Old!Passw0rd12"
	for range 50 {
		w := do(t, s, http.MethodPost, "/api/m2m/v1/session/login", `{"username":"u","password":"`+pw+`"}`, map[string]string{"Authorization": bearer})
		var out struct{ SessionToken string }
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(map[string]string{"oldPassword": pw})
		if err != nil {
			t.Fatal(err)
		}
		w = do(t, s, http.MethodPut, "/api/m2m/v1/session/password/actions/reset", string(b),
			map[string]string{"Authorization": bearer, "VZ-M2M-Token": out.SessionToken})
		var res struct{ NewPassword string }
		if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &res) != nil {
			t.Fatalf("reset: %d %s", w.Code, w.Body)
		}
		if !tsim.MeetsPolicy(res.NewPassword) || tsim.CheckPassword(res.NewPassword) != nil || seen[res.NewPassword] {
			t.Fatalf("generated password %q breaks the policy or repeats", res.NewPassword)
		}
		seen[res.NewPassword] = true
		pw = res.NewPassword
	}
}
