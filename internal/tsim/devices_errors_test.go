package tsim_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/tsim"
)

// m2mCode returns the errorCode of a 400 answer, or "" for anything else.
func m2mCode(code int, body string) string {
	var e struct{ ErrorCode, ErrorMessage string }
	if code != 400 || json.Unmarshal([]byte(body), &e) != nil || e.ErrorMessage == "" {
		return ""
	}
	return e.ErrorCode
}

func TestDeviceActionRefusals(t *testing.T) {
	e := newDevEnv(t, 50)
	e.sim.SeedDevices("0000999999-00001", 0, 1)
	active := e.withState(t, tsim.StateActive, 2)
	post := func(op, body string) (int, string) {
		w := do(t, e.sim, http.MethodPost, actionDir+op, body, e.sess)
		return w.Code, w.Body.String()
	}
	ids := func(account, a, b string) string {
		return fmt.Sprintf(`{"accountName":%q,"devices":[{"deviceIds":[{"kind":"iccid","id":%q},{"kind":"iccid","id":%q}]}]}`, account, a, b)
	}
	for _, c := range []struct {
		name, op, body, code string
	}{
		{"unknown device", "suspend", ids(acct, "89148000000000000000", "89148000000000000000"), "UnifiedWebService.REQUEST_FAILED.Device.NotFound"},
		{"two devices in one entry", "suspend", ids(acct, active[0], active[1]), "UnifiedWebService.REQUEST_FAILED.Device.NotFound"},
		{"unknown account", "suspend", ids("0000000000-00009", active[0], active[0]), "UnifiedWebService.REQUEST_FAILED.AccountNotFound"},
		{"device of another account", "suspend", ids("0000999999-00001", active[0], active[0]), "UnifiedWebService.REQUEST_FAILED.Device.NotFound"},
		{"no accountName", "suspend", `{"devices":[{"deviceIds":[{"kind":"iccid","id":"1"}]}]}`, "UnifiedWebService.INPUT_INVALID.Request.InvalidField"},
		{"no devices", "restore", `{"accountName":"` + acct + `","devices":[]}`, "UnifiedWebService.INPUT_INVALID.Request.InvalidField"},
		{"identifier without kind", "restore", `{"accountName":"` + acct + `","devices":[{"deviceIds":[{"id":"1"}]}]}`, "UnifiedWebService.INPUT_INVALID.Request.InvalidField"},
		{"deactivate without reason", "deactivate", ids(acct, active[0], active[0]), "UnifiedWebService.INPUT_INVALID.Request.InvalidField"},
		{"activate without ZIP", "activate", strings.Replace(ids(acct, active[0], active[0]), `{"accountName"`, `{"servicePlan":"m2m4G","accountName"`, 1), "UnifiedWebService.INPUT_INVALID.Request.InvalidField"},
		{"malformed", "suspend", `{"accountName":`, "UnifiedWebService.INPUT_INVALID.Request.Malformed"},
	} {
		if got := m2mCode(post(c.op, c.body)); got != c.code {
			code, body := post(c.op, c.body)
			t.Errorf("%s: %d %s, want code %s", c.name, code, body, c.code)
		}
	}
	if w := do(t, e.sim, http.MethodPut, actionDir+"plan", ids(acct, active[0], active[0]), e.sess); m2mCode(w.Code, w.Body.String()) != "UnifiedWebService.INPUT_INVALID.Request.InvalidField" {
		t.Errorf("plan without servicePlan: %d %s", w.Code, w.Body)
	}
	if w := do(t, e.sim, http.MethodGet, actionDir+"plan", "", e.sess); w.Code != 404 || !strings.Contains(w.Body.String(), "900906") {
		t.Errorf("GET plan: %d %s, want the gateway's 900906", w.Code, w.Body)
	}
	for _, id := range active {
		if d := e.device(t, id); d.State() != tsim.StateActive {
			t.Fatalf("a refused action changed device %s to %s", id, d.State())
		}
	}
	// Sessions are checked first, as for every M2M call.
	noSession := map[string]string{"Authorization": e.sess["Authorization"], "VZ-M2M-Token": "gone"}
	if w := do(t, e.sim, http.MethodPost, actionDir+"suspend", ids(acct, active[0], active[0]), noSession); !strings.Contains(m2mCode(w.Code, w.Body.String()), "SessionToken.Expired") {
		t.Fatalf("action without a session: %d %s", w.Code, w.Body)
	}
}

func TestDeviceActionAllOrNone(t *testing.T) {
	e := newDevEnv(t, 60)
	a, s := e.withState(t, tsim.StateActive, 1)[0], e.withState(t, tsim.StateSuspend, 1)[0]
	body := fmt.Sprintf(`{"accountName":%q,"devices":[{"deviceIds":[{"kind":"iccid","id":%q}]},{"deviceIds":[{"kind":"iccid","id":%q}]}]}`, acct, a, s)
	w := do(t, e.sim, http.MethodPost, actionDir+"suspend", body, e.sess)
	if m2mCode(w.Code, w.Body.String()) != "UnifiedWebService.REQUEST_FAILED.Device.InvalidState" {
		t.Fatalf("suspend of an active and a suspended device: %d %s", w.Code, w.Body)
	}
	if d := e.device(t, a); d.State() != tsim.StateActive {
		t.Fatalf("the active device was suspended by a refused request: %s", d.State())
	}
}

func TestDeviceRequestIDsUnique(t *testing.T) {
	e := newDevEnv(t, 20)
	id := e.withState(t, tsim.StateActive, 1)[0]
	seen := map[string]bool{}
	for i := range 200 {
		op := map[bool]string{true: "suspend", false: "restore"}[i%2 == 0]
		code, body := e.action(t, op, id, "")
		var ans struct{ RequestID string }
		if code != 200 || json.Unmarshal([]byte(body), &ans) != nil || ans.RequestID == "" || seen[ans.RequestID] {
			t.Fatalf("action %d: %d %s (repeated or missing requestId)", i, code, body)
		}
		seen[ans.RequestID] = true
	}
}

func TestDeviceLostAnswerApplies(t *testing.T) {
	e := newDevEnv(t, 30)
	ids := e.withState(t, tsim.StateActive, 2)
	if err := e.sim.SetFaults("u", tsim.Faults{DeviceActionFailAfter: true}); err != nil {
		t.Fatal(err)
	}
	if code, body := e.action(t, "suspend", ids[0], ""); code != 502 || strings.Contains(body, "requestId") {
		t.Fatalf("lost answer: %d %s, want a proxy's 502", code, body)
	}
	if d := e.device(t, ids[0]); d.State() != tsim.StateSuspend {
		t.Fatalf("the action behind the 502 was not applied: %s", d.State())
	}
	// The connection dropped after applying, over a real listener.
	if err := e.sim.SetFaults("u", tsim.Faults{DeviceActionDropAfter: true}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e.sim)
	defer srv.Close()
	body := fmt.Sprintf(`{"accountName":%q,"devices":[{"deviceIds":[{"kind":"iccid","id":%q}]}]}`, acct, ids[1])
	req, err := http.NewRequest(http.MethodPost, srv.URL+actionDir+"suspend", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range e.sess {
		req.Header.Set(k, v)
	}
	hc := &http.Client{Timeout: 5 * time.Second}
	if resp, err := hc.Do(req); err == nil {
		b, rerr := io.ReadAll(resp.Body)
		t.Fatalf("dropped answer arrived: %d %s (read: %v, close: %v)", resp.StatusCode, b, rerr, resp.Body.Close())
	}
	if d := e.device(t, ids[1]); d.State() != tsim.StateSuspend {
		t.Fatalf("the action behind the dropped connection was not applied: %s", d.State())
	}
	if c, _ := e.sim.User("u"); c.DeviceActions != 2 {
		t.Fatalf("applied actions %d, want 2", c.DeviceActions)
	}
}

func TestDeviceListFilters(t *testing.T) {
	e := newDevEnv(t, 300)
	_, all := e.list(t, `{"accountName":"`+acct+`","maxNumberOfDevices":300}`)
	d := all.Devices[17]
	for _, c := range []struct {
		name, body string
		want       func(tsim.Device) bool
	}{
		{"deviceId", fmt.Sprintf(`{"deviceId":{"kind":"imei","id":%q}}`, d.ID("imei")), func(x tsim.Device) bool { return x.ID("iccid") == d.ID("iccid") }},
		{"deviceId of any kind", fmt.Sprintf(`{"deviceId":{"id":%q}}`, d.ID("iccid")), func(x tsim.Device) bool { return x.ID("iccid") == d.ID("iccid") }},
		{"state, as spelt upstream", `{"currentState":"Pre-active"}`, func(x tsim.Device) bool { return x.State() == tsim.StatePreActive }},
		{"plan", `{"servicePlan":"LTEM50MB"}`, func(x tsim.Device) bool { return x.ServicePlan() == "LTEM50MB" }},
		{"identifier filter", `{"filter":{"deviceIdentifierFilters":[{"kind":"iccid","startswith":"8914800","endswith":"7"}]}}`,
			func(x tsim.Device) bool {
				return strings.HasPrefix(x.ID("iccid"), "8914800") && strings.HasSuffix(x.ID("iccid"), "7")
			}},
	} {
		want := 0
		for _, x := range all.Devices {
			if c.want(x) {
				want++
			}
		}
		code, ans := e.list(t, c.body)
		if code != 200 || len(ans.Devices) != want || want == 0 {
			t.Errorf("%s: %d, %d devices, want %d (> 0)", c.name, code, len(ans.Devices), want)
		}
		for _, x := range ans.Devices {
			if !c.want(x) {
				t.Errorf("%s: device %v listed", c.name, x.DeviceIDs)
			}
		}
	}
	for _, bad := range []string{`{"currentState":"sleeping"}`, `{"maxNumberOfDevices":-1}`, `{"largestDeviceIdSeen":-5}`, `{"deviceId":{"kind":"iccid"}}`, `[`} {
		if w := do(t, e.sim, http.MethodPost, listPath, bad, e.sess); !strings.Contains(m2mCode(w.Code, w.Body.String()), "INPUT_INVALID") {
			t.Errorf("list %s: %d %s, want a 400", bad, w.Code, w.Body)
		}
	}
	if w := do(t, e.sim, http.MethodPost, listPath, `{"accountName":"0000000000-00001"}`, e.sess); m2mCode(w.Code, w.Body.String()) != "UnifiedWebService.REQUEST_FAILED.AccountNotFound" {
		t.Errorf("unknown account: %d %s", w.Code, w.Body)
	}
	if code, ans := e.list(t, `{"largestDeviceIdSeen":"290"}`); code != 200 || len(ans.Devices) != 10 {
		t.Errorf("largestDeviceIdSeen as a string: %d, %d devices, want 10", code, len(ans.Devices))
	}
}

func TestDeviceListWithoutInventory(t *testing.T) {
	// A simulator nobody seeded answers every list with an empty one, as
	// before it had devices; the first seeded account ends that.
	s := tsim.New(tsim.Options{AppKey: "k", AppSecret: "s", Users: map[string]string{"u": userPW}})
	e := &devEnv{sim: s}
	bearer := "Bearer " + token(t, s)
	w := do(t, s, http.MethodPost, "/api/m2m/v1/session/login", `{"username":"u","password":"`+userPW+`"}`, map[string]string{"Authorization": bearer})
	var out struct{ SessionToken string }
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	e.sess = map[string]string{"Authorization": bearer, "VZ-M2M-Token": out.SessionToken}
	if code, ans := e.list(t, `{"accountName":"any"}`); code != 200 || ans.HasMoreData || ans.Devices == nil || len(ans.Devices) != 0 {
		t.Fatalf("no inventory: %d %+v", code, ans)
	}
	s.SeedDevices(acct, 0, 1)
	if w := do(t, s, http.MethodPost, listPath, `{"accountName":"any"}`, e.sess); m2mCode(w.Code, w.Body.String()) == "" {
		t.Fatalf("unknown account once seeded: %d %s", w.Code, w.Body)
	}
	if code, ans := e.list(t, `{"accountName":"`+acct+`"}`); code != 200 || len(ans.Devices) != 0 {
		t.Fatalf("empty account: %d %+v", code, ans)
	}
}
