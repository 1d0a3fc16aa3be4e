package tsim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Paging of POST /api/m2m/v1/devices/actions/list. Verizon does not
// document a default or maximum page size (its generated SDKs carry a
// meaningless "<= 100" on both paging fields); 500 is the simulator's
// choice and larger requests are cut to it.
const (
	DefaultPageSize = 500
	MaxPageSize     = 500
)

// Codes of the device calls (the real ones are unconfirmed; these follow the
// documented shape and avoid the words the client reads as a locked account).
const (
	codeAccountNotFound = "UnifiedWebService.REQUEST_FAILED.AccountNotFound"
	codeDeviceNotFound  = "UnifiedWebService.REQUEST_FAILED.Device.NotFound"
	codeInvalidState    = "UnifiedWebService.REQUEST_FAILED.Device.InvalidState"
	codeInvalidInput    = "UnifiedWebService.INPUT_INVALID.Request.InvalidField"
)

// flexInt is an integer sent as a JSON number or a string of digits: clients
// copy largestDeviceIdSeen from a string-valued extended attribute.
type flexInt int64

func (n *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return err
	}
	*n = flexInt(v)
	return nil
}

// idSearch is one of filter.deviceIdentifierFilters.
type idSearch struct {
	Kind       string `json:"kind"`
	Contains   string `json:"contains"`
	StartsWith string `json:"startswith"`
	EndsWith   string `json:"endswith"`
}

func (f idSearch) match(d Device) bool {
	for _, id := range d.DeviceIDs {
		if f.Kind != "" && !strings.EqualFold(f.Kind, id.Kind) {
			continue
		}
		if strings.Contains(id.ID, f.Contains) && strings.HasPrefix(id.ID, f.StartsWith) && strings.HasSuffix(id.ID, f.EndsWith) {
			return true
		}
	}
	return false
}

// listQuery is a validated list request.
type listQuery struct {
	account string
	device  *DeviceID
	filters []idSearch
	state   string // normalized, "" for any
	plan    string
	max     int
	after   int64 // largestDeviceIdSeen
}

// parseListRequest reads a list request body. An empty body is the empty
// request (all devices the user may see). It returns the error message
// for a 400 when the body is unusable.
func parseListRequest(body []byte) (listQuery, string) {
	var in struct {
		AccountName string    `json:"accountName"`
		DeviceID    *DeviceID `json:"deviceId"`
		Filter      *struct {
			DeviceIdentifierFilters []idSearch `json:"deviceIdentifierFilters"`
		} `json:"filter"`
		CurrentState        string   `json:"currentState"`
		ServicePlan         string   `json:"servicePlan"`
		MaxNumberOfDevices  *flexInt `json:"maxNumberOfDevices"`
		LargestDeviceIDSeen flexInt  `json:"largestDeviceIdSeen"`
	}
	if len(bytes.Trim(body, " \t\r\n")) > 0 { // JSON's white space only
		if err := json.Unmarshal(body, &in); err != nil {
			return listQuery{}, "The request body is malformed."
		}
	}
	q := listQuery{account: in.AccountName, device: in.DeviceID, plan: in.ServicePlan, max: DefaultPageSize, after: int64(in.LargestDeviceIDSeen)}
	if in.Filter != nil {
		q.filters = in.Filter.DeviceIdentifierFilters
	}
	if q.device != nil && q.device.ID == "" {
		return listQuery{}, "deviceId.id is required."
	}
	if in.CurrentState != "" {
		if q.state = normalizeState(in.CurrentState); q.state == "" {
			return listQuery{}, "currentState is not a device state."
		}
	}
	if in.MaxNumberOfDevices != nil {
		switch m := int64(*in.MaxNumberOfDevices); {
		case m < 0:
			return listQuery{}, "maxNumberOfDevices must not be negative."
		case m > 0:
			q.max = int(min(m, MaxPageSize))
		}
	}
	if q.after < 0 {
		return listQuery{}, "largestDeviceIdSeen must not be negative."
	}
	return q, ""
}

func (q listQuery) match(d Device) bool {
	if q.account != "" && d.AccountName != q.account {
		return false
	}
	if q.device != nil && !d.hasID(q.device.Kind, q.device.ID) {
		return false
	}
	if q.state != "" && d.State() != q.state {
		return false
	}
	if q.plan != "" && d.ServicePlan() != q.plan {
		return false
	}
	for _, f := range q.filters {
		if !f.match(d) {
			return false
		}
	}
	return true
}

// hasID reports whether d has identifier id of kind ("": of any kind).
func (d Device) hasID(kind, id string) bool {
	for _, x := range d.DeviceIDs {
		if x.ID == id && (kind == "" || strings.EqualFold(x.Kind, kind)) {
			return true
		}
	}
	return false
}

// listAnswer is the list answer, its devices already JSON.
type listAnswer struct {
	HasMoreData bool
	Devices     [][]byte
}

// answers holds the buffers answers are written from.
var answers = sync.Pool{New: func() any { return new([]byte) }}

// write writes a as writeJSON would write {"hasMoreData": …, "devices":
// […]}.
func (a listAnswer) write(w http.ResponseWriter, status int) {
	buf := answers.Get().(*[]byte)
	defer answers.Put(buf)
	b := append((*buf)[:0], `{"hasMoreData":`...)
	b = strconv.AppendBool(b, a.HasMoreData)
	b = append(b, `,"devices":[`...)
	for i, d := range a.Devices {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, d...)
	}
	b = append(b, "]}\n"...)
	*buf = b
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b) // the client may have gone; nothing to do
}

// list answers q: the matching devices whose internal id is above
// q.after, oldest first, at most q.max of them; hasMoreData says whether
// more match after the last one. code is set when the account is unknown.
// A simulator holding no inventory at all answers every list with an empty
// one, as it did before it had devices.
func (inv *inventory) list(q listQuery) (ans listAnswer, code, msg string) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if len(inv.accounts) == 0 {
		return ans, "", ""
	}
	if q.account != "" && !inv.accounts[q.account] {
		return ans, codeAccountNotFound, "The account " + strconv.Quote(q.account) + " was not found."
	}
	start := sort.Search(len(inv.records), func(i int) bool { return inv.records[i].seq > q.after })
	for _, r := range inv.records[start:] {
		if !q.match(r.d) {
			continue
		}
		if len(ans.Devices) == q.max {
			ans.HasMoreData = true
			break
		}
		ans.Devices = append(ans.Devices, r.json())
	}
	return ans, "", ""
}

func (s *Server) handleDeviceList(w http.ResponseWriter, r *http.Request) {
	name := s.session(w, r)
	if name == "" {
		return
	}
	s.countDeviceCall(name, deviceList)
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequest))
	if err != nil {
		writeM2MError(w, http.StatusBadRequest, codeMalformed, "The request body could not be read.")
		return
	}
	q, msg := parseListRequest(body)
	if msg != "" {
		writeM2MError(w, http.StatusBadRequest, codeMalformed, msg)
		return
	}
	ans, code, msg := s.inv.list(q)
	if code != "" {
		writeM2MError(w, http.StatusBadRequest, code, msg)
		return
	}
	status := http.StatusOK
	if ans.HasMoreData {
		// Verizon: "False for a status 200 response. True for a status
		// 202 response, indicating that there is more data to be retrieved."
		status = http.StatusAccepted
	}
	ans.write(w, status)
}
