package tsim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/tsim"
)

// listener records the callbacks it receives and answers with the
// statuses in codes, in turn (then 200).
func listener(t *testing.T, codes ...int) (*httptest.Server, *[]map[string]any) {
	t.Helper()
	var got []map[string]any
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var m map[string]any
		if err != nil || json.Unmarshal(body, &m) != nil {
			t.Errorf("callback body %q: %v", body, err)
		}
		got = append(got, m)
		i := int(n.Add(1)) - 1
		if i < len(codes) {
			w.WriteHeader(codes[i])
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

func (e *devEnv) status(t *testing.T, id string) (int, string) {
	t.Helper()
	w := do(t, e.sim, http.MethodGet, "/api/m2m/v1/accounts/"+acct+"/requests/"+id+"/status", "", e.sess)
	var out struct{ RequestID, Status string }
	if w.Code == 200 && (json.Unmarshal(w.Body.Bytes(), &out) != nil || out.RequestID != id) {
		t.Fatalf("status answer %s", w.Body)
	}
	return w.Code, out.Status
}

func requestIDOf(t *testing.T, code int, body string) string {
	t.Helper()
	var out struct{ RequestID string }
	if code != 200 || json.Unmarshal([]byte(body), &out) != nil || out.RequestID == "" {
		t.Fatalf("action: %d %s", code, body)
	}
	return out.RequestID
}

func TestAsyncSuspendCompletesLaterWithCallbackAndStatus(t *testing.T) {
	e := newDevEnv(t, 5)
	e.sim.SetAsync(tsim.AsyncOptions{Delay: 20 * time.Millisecond, Retry: 10 * time.Millisecond})
	srv, got := listener(t, http.StatusServiceUnavailable) // the first delivery fails: retried
	reg := `{"name":"CarrierService","url":"` + srv.URL + `","username":"cbuser","password":"cbpass"}`
	if w := do(t, e.sim, http.MethodPost, "/api/m2m/v1/callbacks/"+acct, reg, e.sess); w.Code != 200 || !strings.Contains(w.Body.String(), `"serviceName":"CarrierService"`) {
		t.Fatalf("register: %d %s", w.Code, w.Body)
	}
	iccid := e.withState(t, tsim.StateActive, 1)[0]
	code, body := e.action(t, tsim.ActionSuspend, iccid, "")
	id := requestIDOf(t, code, body)
	if st := e.device(t, iccid).State(); st != tsim.StateActive {
		t.Fatalf("state right after the answer = %s, want still active", st)
	}
	if code, st := e.status(t, id); code != 200 || st != tsim.StatusPending {
		t.Fatalf("status = %d %s, want Pending", code, st)
	}
	time.Sleep(50 * time.Millisecond)
	e.sim.Wait()
	if code, st := e.status(t, id); code != 200 || st != tsim.StatusSuccess {
		t.Fatalf("status = %d %s, want Success", code, st)
	}
	if st := e.device(t, iccid).State(); st != tsim.StateSuspend {
		t.Fatalf("state = %s, want suspend", st)
	}
	if len(*got) != 2 {
		t.Fatalf("deliveries = %d, want 2 (one refused, one accepted)", len(*got))
	}
	m := (*got)[1]
	if m["requestId"] != id || m["status"] != "Success" || m["username"] != "cbuser" || m["password"] != "cbpass" ||
		m["callbackCount"] != float64(2) || m["maxCallbackThreshold"] != float64(4) {
		t.Fatalf("callback = %v", m)
	}
	if code, _ := e.status(t, "no-such-request"); code != http.StatusBadRequest {
		t.Fatalf("unknown request status = %d, want 400", code)
	}
}

func TestAsyncFailureAndDeregister(t *testing.T) {
	e := newDevEnv(t, 5)
	e.sim.SetAsync(tsim.AsyncOptions{Delay: 5 * time.Millisecond})
	srv, got := listener(t)
	reg := `{"name":"CarrierService","url":"` + srv.URL + `"}`
	if w := do(t, e.sim, http.MethodPost, "/api/m2m/v1/callbacks/"+acct, reg, e.sess); w.Code != 200 {
		t.Fatalf("register: %d %s", w.Code, w.Body)
	}
	if w := do(t, e.sim, http.MethodGet, "/api/m2m/v1/callbacks/"+acct, "", e.sess); w.Code != 200 || !strings.Contains(w.Body.String(), srv.URL) {
		t.Fatalf("list: %d %s", w.Code, w.Body)
	}
	e.sim.FailNext(acct, "The device could not be suspended.")
	iccid := e.withState(t, tsim.StateActive, 1)[0]
	code, body := e.action(t, tsim.ActionSuspend, iccid, "")
	id := requestIDOf(t, code, body)
	time.Sleep(20 * time.Millisecond)
	e.sim.Wait()
	if _, st := e.status(t, id); st != tsim.StatusFailure {
		t.Fatalf("status = %s, want Failure", st)
	}
	if e.device(t, iccid).State() != tsim.StateActive {
		t.Fatal("a failed suspend changed the device")
	}
	if len(*got) != 1 || (*got)[0]["status"] != "Failed" || (*got)[0]["faultResponse"] == nil {
		t.Fatalf("callbacks = %v", *got)
	}
	if w := do(t, e.sim, http.MethodDelete, "/api/m2m/v1/callbacks/"+acct+"/name/CarrierService", "", e.sess); w.Code != 200 {
		t.Fatalf("deregister: %d %s", w.Code, w.Body)
	}
	if len(e.sim.Listeners(acct)) != 0 {
		t.Fatal("listener still registered")
	}
	if w := do(t, e.sim, http.MethodPost, "/api/m2m/v1/callbacks/"+acct, `{"name":"Nope","url":"x"}`, e.sess); w.Code != http.StatusBadRequest {
		t.Fatalf("bad registration = %d", w.Code)
	}
}
