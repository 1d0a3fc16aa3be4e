package tsim_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/tsim"
)

// luhnOK reports whether the decimal string s ends in its Luhn check digit.
func luhnOK(s string) bool {
	sum := 0
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if (len(s)-i)%2 == 0 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

func TestSeededDevicesArePlausible(t *testing.T) {
	a, b := newDevEnv(t, 500), newDevEnv(t, 500)
	_, la := a.list(t, `{"accountName":"`+acct+`"}`)
	_, lb := b.list(t, `{"accountName":"`+acct+`"}`)
	if !reflect.DeepEqual(la, lb) {
		t.Fatal("the same seed gave different devices")
	}
	shapes := map[string]*regexp.Regexp{
		tsim.KindICCID: regexp.MustCompile(`^891480\d{14}$`), tsim.KindIMEI: regexp.MustCompile(`^\d{15}$`),
		tsim.KindMDN: regexp.MustCompile(`^\d{3}[2-9]\d{6}$`), tsim.KindMEID: regexp.MustCompile(`^A1000[0-9A-F]{9}$`),
		tsim.KindESN: regexp.MustCompile(`^\d{11}$`), tsim.KindEID: regexp.MustCompile(`^89049032\d{24}$`),
	}
	states, kinds := map[string]int{}, map[string]int{}
	var prev time.Time
	for _, d := range la.Devices {
		created, err := time.Parse(time.RFC3339, d.CreatedAt)
		if err != nil || !created.After(prev) {
			t.Errorf("createdAt %s after %s (%v): the list must run oldest first", d.CreatedAt, prev, err)
		}
		prev = created
		states[d.State()]++
		for _, id := range d.DeviceIDs {
			kinds[id.Kind]++
			if re := shapes[id.Kind]; re == nil || !re.MatchString(id.ID) || (id.Kind == tsim.KindICCID || id.Kind == tsim.KindIMEI) && !luhnOK(id.ID) {
				t.Errorf("identifier %s %s", id.Kind, id.ID)
			}
		}
		hasMDN := d.ID(tsim.KindMDN) != ""
		if (d.State() == tsim.StatePreActive) == hasMDN || (d.State() == tsim.StatePreActive) != (d.LastActivationDate == "") {
			t.Errorf("%s device with MDN %q activated %q", d.State(), d.ID(tsim.KindMDN), d.LastActivationDate)
		}
		if d.Connected && d.State() != tsim.StateActive || d.CarrierInformations[0].CarrierName != tsim.CarrierName {
			t.Errorf("device %+v", d)
		}
	}
	for _, st := range []string{tsim.StateActive, tsim.StateSuspend, tsim.StateDeactive, tsim.StatePreActive} {
		if states[st] < 20 {
			t.Errorf("only %d %s devices of 500", states[st], st)
		}
	}
	for _, k := range []string{tsim.KindMEID, tsim.KindESN, tsim.KindEID} {
		if kinds[k] == 0 {
			t.Errorf("no %s identifiers", k)
		}
	}
}

func TestDeviceAdminAPI(t *testing.T) {
	s := tsim.New(tsim.Options{Users: map[string]string{"u": userPW}})
	w := do(t, s, http.MethodPost, "/_tsim/accounts/"+acct+"/devices", `{"count":25,"seed":3}`, nil)
	var out struct{ Devices int }
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &out) != nil || out.Devices != 25 {
		t.Fatalf("seed: %d %s", w.Code, w.Body)
	}
	if n, ok := s.AccountDevices(acct); n != 25 || !ok {
		t.Fatalf("account has %d devices (known %v)", n, ok)
	}
	for _, bad := range []string{`{"count":-1}`, `{"count":2000000}`, `nope`} {
		if w := do(t, s, http.MethodPost, "/_tsim/accounts/"+acct+"/devices", bad, nil); w.Code != 400 {
			t.Errorf("seed %s: %d", bad, w.Code)
		}
	}
	e := newDevEnv(t, 5)
	id := e.withState(t, tsim.StateActive, 1)[0]
	if w := do(t, e.sim, http.MethodGet, "/_tsim/accounts/"+acct+"/devices/"+id, "", nil); w.Code != 200 || !strings.Contains(w.Body.String(), id) {
		t.Fatalf("get device: %d %s", w.Code, w.Body)
	}
	if w := do(t, e.sim, http.MethodGet, "/_tsim/accounts/other/devices/"+id, "", nil); w.Code != 404 {
		t.Fatalf("device of another account: %d", w.Code)
	}
	if w := do(t, e.sim, http.MethodPut, "/_tsim/users/u/faults", `{"device_action_5xx_after":true}`, nil); w.Code != 204 {
		t.Fatalf("faults: %d %s", w.Code, w.Body)
	}
	if code, _ := e.action(t, "suspend", id, ""); code != 502 {
		t.Fatalf("device_action_5xx_after: %d", code)
	}
}
