package tsim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/tsim"
)

const (
	acct      = "0000123456-00001"
	listPath  = "/api/m2m/v1/devices/actions/list"
	actionDir = "/api/m2m/v1/devices/actions/"
)

// devEnv is a simulator with one user, a session and a seeded account.
type devEnv struct {
	sim  *tsim.Server
	sess map[string]string
}

func newDevEnv(t *testing.T, n int) *devEnv {
	t.Helper()
	clock := tsim.NewClock(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	s := tsim.New(tsim.Options{AppKey: "k", AppSecret: "s", Now: clock.Now, Users: map[string]string{"u": userPW}})
	s.SeedDevices(acct, n, 42)
	bearer := map[string]string{"Authorization": "Bearer " + token(t, s)}
	w := do(t, s, http.MethodPost, "/api/m2m/v1/session/login", `{"username":"u","password":"`+userPW+`"}`, bearer)
	var out struct{ SessionToken string }
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &out) != nil || out.SessionToken == "" {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	return &devEnv{sim: s, sess: map[string]string{"Authorization": bearer["Authorization"], "VZ-M2M-Token": out.SessionToken}}
}

type listAnswer struct {
	HasMoreData bool          `json:"hasMoreData"`
	Devices     []tsim.Device `json:"devices"`
}

// list makes one list call and returns its status and answer.
func (e *devEnv) list(t *testing.T, body string) (int, listAnswer) {
	t.Helper()
	w := do(t, e.sim, http.MethodPost, listPath, body, e.sess)
	var ans listAnswer
	if w.Code < 300 {
		if err := json.Unmarshal(w.Body.Bytes(), &ans); err != nil {
			t.Fatalf("list answer %s: %v", w.Body, err)
		}
	}
	return w.Code, ans
}

// action runs op on the device with ICCID iccid; extra is spliced into
// the body ("" for none).
func (e *devEnv) action(t *testing.T, op, iccid, extra string) (int, string) {
	t.Helper()
	method := http.MethodPost
	if op == tsim.ActionPlan {
		method = http.MethodPut
	}
	body := fmt.Sprintf(`{"accountName":%q,"devices":[{"deviceIds":[{"kind":"iccid","id":%q}]}]%s}`, acct, iccid, extra)
	w := do(t, e.sim, method, actionDir+op, body, e.sess)
	return w.Code, w.Body.String()
}

// withState returns up to n ICCIDs of devices in state.
func (e *devEnv) withState(t *testing.T, state string, n int) []string {
	t.Helper()
	code, ans := e.list(t, fmt.Sprintf(`{"accountName":%q,"currentState":%q,"maxNumberOfDevices":%d}`, acct, state, n))
	if code >= 300 || len(ans.Devices) < n {
		t.Fatalf("list %s: %d, %d devices, want %d", state, code, len(ans.Devices), n)
	}
	var out []string
	for _, d := range ans.Devices {
		out = append(out, d.ID(tsim.KindICCID))
	}
	return out
}

func (e *devEnv) device(t *testing.T, iccid string) tsim.Device {
	t.Helper()
	d, ok := e.sim.Device(acct, iccid)
	if !ok {
		t.Fatalf("no device %s", iccid)
	}
	return d
}

func seqOf(t *testing.T, d tsim.Device) int64 {
	t.Helper()
	for _, kv := range d.ExtendedAttributes {
		if kv.Key == "DeviceId" {
			n, err := strconv.ParseInt(kv.Value, 10, 64)
			if err != nil {
				t.Fatalf("DeviceId %q: %v", kv.Value, err)
			}
			return n
		}
	}
	t.Fatalf("device %v has no DeviceId attribute", d.DeviceIDs)
	return 0
}

func TestDevicePagingReturnsEveryDeviceOnce(t *testing.T) {
	e := newDevEnv(t, 1234)
	e.sim.SeedDevices("0000999999-00001", 100, 7) // another account, interleaved after
	for _, pageSize := range []int{0, 1, 100, 499, 500, 10000} {
		seen := map[string]int{}
		var last int64
		pages := 0
		for more := true; more; pages++ {
			code, ans := e.list(t, fmt.Sprintf(`{"accountName":%q,"maxNumberOfDevices":%d,"largestDeviceIdSeen":%d}`, acct, pageSize, last))
			if want := map[bool]int{true: 202, false: 200}[ans.HasMoreData]; code != want {
				t.Fatalf("page size %d: status %d with hasMoreData %v", pageSize, code, ans.HasMoreData)
			}
			limit := pageSize
			if limit == 0 || limit > tsim.MaxPageSize {
				limit = tsim.MaxPageSize
			}
			if len(ans.Devices) > limit || ans.HasMoreData && len(ans.Devices) != limit {
				t.Fatalf("page size %d: %d devices in a page, more %v", pageSize, len(ans.Devices), ans.HasMoreData)
			}
			for _, d := range ans.Devices {
				if s := seqOf(t, d); s <= last {
					t.Fatalf("page size %d: DeviceId %d after %d", pageSize, s, last)
				} else {
					last = s
				}
				if d.AccountName != acct {
					t.Fatalf("device of account %s listed", d.AccountName)
				}
				seen[d.ID(tsim.KindICCID)]++
			}
			more = ans.HasMoreData
			if pages > 2000 {
				t.Fatal("paging does not end")
			}
		}
		if len(seen) != 1234 {
			t.Fatalf("page size %d: %d distinct devices in %d pages, want 1234", pageSize, len(seen), pages)
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("page size %d: device %s listed %d times", pageSize, id, n)
			}
		}
	}
	// Without accountName: every device the user may see.
	code, ans := e.list(t, `{"maxNumberOfDevices":500,"largestDeviceIdSeen":1000}`)
	if code != 200 || len(ans.Devices) != 334 || ans.HasMoreData {
		t.Fatalf("all accounts after 1000: %d, %d devices, more %v", code, len(ans.Devices), ans.HasMoreData)
	}
	if code, ans = e.list(t, ``); code != 202 || len(ans.Devices) != 500 {
		t.Fatalf("empty body: %d, %d devices", code, len(ans.Devices))
	}
}

func TestDeviceStateRules(t *testing.T) {
	e := newDevEnv(t, 400)
	allowed := map[string]map[string]string{ // op → from state → state after
		tsim.ActionActivate:   {tsim.StatePreActive: tsim.StateActive, tsim.StateDeactive: tsim.StateActive},
		tsim.ActionSuspend:    {tsim.StateActive: tsim.StateSuspend},
		tsim.ActionRestore:    {tsim.StateSuspend: tsim.StateActive},
		tsim.ActionDeactivate: {tsim.StateActive: tsim.StateDeactive, tsim.StateSuspend: tsim.StateDeactive},
		tsim.ActionPlan:       {tsim.StateActive: tsim.StateActive, tsim.StateSuspend: tsim.StateSuspend},
	}
	extra := map[string]string{
		tsim.ActionActivate:   `,"servicePlan":"IoT1GBPool","mdnZipCode":"07095"`,
		tsim.ActionDeactivate: `,"reasonCode":"FF","etfWaiver":true`,
		tsim.ActionPlan:       `,"servicePlan":"LTEM50MB"`,
	}
	states := []string{tsim.StateActive, tsim.StateSuspend, tsim.StateDeactive, tsim.StatePreActive}
	pool := map[string][]string{}
	for _, st := range states {
		pool[st] = e.withState(t, st, len(allowed))
	}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for op, rules := range allowed {
		for _, from := range states {
			iccid := pool[from][0]
			pool[from] = pool[from][1:]
			before := e.device(t, iccid)
			code, body := e.action(t, op, iccid, extra[op])
			after := e.device(t, iccid)
			to, ok := rules[from]
			if !ok {
				if code != 400 || !strings.Contains(body, `"UnifiedWebService.REQUEST_FAILED.Device.InvalidState"`) || !slices.Equal(after.CarrierInformations, before.CarrierInformations) {
					t.Errorf("%s from %s: %d %s, state %s; want a 400 InvalidState and no change", op, from, code, body, after.State())
				}
				continue
			}
			var ans struct{ RequestID string }
			if code != 200 || json.Unmarshal([]byte(body), &ans) != nil || !uuid.MatchString(ans.RequestID) {
				t.Errorf("%s from %s: %d %s; want 200 with a requestId", op, from, code, body)
			}
			if after.State() != to {
				t.Errorf("%s from %s: state %s, want %s", op, from, after.State(), to)
			}
			checkEffects(t, op, before, after)
		}
	}
	c, _ := e.sim.User("u")
	if c.DeviceActions != 8 || c.DeviceActionsRejected != 12 {
		t.Fatalf("counters: %d applied, %d rejected; want 8 and 12", c.DeviceActions, c.DeviceActionsRejected)
	}
}

// checkEffects checks what an applied action changes besides the state.
func checkEffects(t *testing.T, op string, before, after tsim.Device) {
	t.Helper()
	switch op {
	case tsim.ActionActivate:
		if after.ServicePlan() != "IoT1GBPool" || after.ID(tsim.KindMDN) == "" || after.LastActivationBy != "u" ||
			after.LastActivationDate != "2026-03-04T01:06:07-04:00" || after.IPAddress == "" {
			t.Errorf("activation: %+v", after)
		}
		if mdn := before.ID(tsim.KindMDN); mdn != "" && after.ID(tsim.KindMDN) != mdn {
			t.Errorf("reactivation changed the MDN %s to %s", mdn, after.ID(tsim.KindMDN))
		}
	case tsim.ActionPlan:
		if after.ServicePlan() != "LTEM50MB" {
			t.Errorf("plan change: plan %s", after.ServicePlan())
		}
	case tsim.ActionSuspend, tsim.ActionDeactivate:
		if after.Connected {
			t.Errorf("%s: still connected", op)
		}
	}
}
