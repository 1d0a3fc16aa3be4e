package tsim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/uwsportal/uwsportal/internal/tsim"
)

// A list is written from each device's remembered JSON: byte for byte what
// encoding the devices afresh gives, before and after an action changed
// one of them, including a device activated (a new MDN) and an empty page.
func TestListAnswersAsEncodingTheDevicesAfresh(t *testing.T) {
	e := newDevEnv(t, 40)
	page := func(body string) {
		t.Helper()
		w := do(t, e.sim, http.MethodPost, listPath, body, e.sess)
		var got listAnswer
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatalf("list answer %s: %v", w.Body, err)
		}
		// Each device as the simulator holds it now, encoded afresh.
		want := listAnswer{HasMoreData: got.HasMoreData, Devices: []tsim.Device{}}
		for _, d := range got.Devices {
			want.Devices = append(want.Devices, e.device(t, d.ID(tsim.KindICCID)))
		}
		var b bytes.Buffer
		if err := json.NewEncoder(&b).Encode(want); err != nil {
			t.Fatal(err)
		}
		if w.Body.String() != b.String() {
			t.Fatalf("list %s answered\n%s\nwhere the devices encoded afresh give\n%s", body, w.Body, b.String())
		}
	}
	all := fmt.Sprintf(`{"accountName":%q,"maxNumberOfDevices":500}`, acct)
	page(all)
	page(fmt.Sprintf(`{"accountName":%q,"maxNumberOfDevices":5}`, acct))
	page(fmt.Sprintf(`{"accountName":%q,"largestDeviceIdSeen":100000}`, acct))
	for op, state := range map[string]string{tsim.ActionActivate: tsim.StatePreActive, tsim.ActionSuspend: tsim.StateActive} {
		iccid := e.withState(t, state, 1)[0]
		if code, body := e.action(t, op, iccid, `,"servicePlan":"IoT1GBPool","mdnZipCode":"07095"`); code != http.StatusOK {
			t.Fatalf("%s %s: %d %s", op, iccid, code, body)
		}
		page(all)
	}
}
