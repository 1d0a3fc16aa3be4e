package tsim

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"
)

// The device actions, named as everywhere in the portal.
const (
	ActionActivate   = "activate"
	ActionSuspend    = "suspend"
	ActionRestore    = "restore"
	ActionDeactivate = "deactivate"
	ActionPlan       = "plan"
)

// maxActionDevices is the documented limit of devices in one action.
const maxActionDevices = 10000

// transitions are the state rules: the states an action may start from and
// the state it leaves ("" keeps the state). Activation of a deactivated
// device is a reactivation; a plan change needs a device with service.
var transitions = map[string]struct {
	from []string
	to   string
}{
	ActionActivate:   {from: []string{StatePreActive, StateDeactive}, to: StateActive},
	ActionSuspend:    {from: []string{StateActive}, to: StateSuspend},
	ActionRestore:    {from: []string{StateSuspend}, to: StateActive},
	ActionDeactivate: {from: []string{StateActive, StateSuspend}, to: StateDeactive},
	ActionPlan:       {from: []string{StateActive, StateSuspend}},
}

// actionBody is the union of the action request bodies.
type actionBody struct {
	AccountName string `json:"accountName"`
	Devices     []struct {
		DeviceIDs []DeviceID `json:"deviceIds"`
	} `json:"devices"`
	ServicePlan string `json:"servicePlan"`
	MdnZipCode  string `json:"mdnZipCode"`
	ReasonCode  string `json:"reasonCode"`
	EtfWaiver   bool   `json:"etfWaiver"`
}

// validate returns the message of a 400 for a body op cannot take. The
// simulator only acts on devices named by identifier (not on groups).
func (b actionBody) validate(op string) string {
	switch {
	case b.AccountName == "":
		return "accountName is required."
	case len(b.Devices) == 0:
		return "devices is required."
	case len(b.Devices) > maxActionDevices:
		return fmt.Sprintf("At most %d devices per request.", maxActionDevices)
	case (op == ActionActivate || op == ActionPlan) && b.ServicePlan == "":
		return "servicePlan is required."
	case op == ActionActivate && !isZip(b.MdnZipCode):
		return "mdnZipCode must be a 5-digit ZIP code."
	case op == ActionDeactivate && b.ReasonCode != "FF":
		return `reasonCode must be "FF" (General Admin/Maintenance).`
	}
	for _, d := range b.Devices {
		if len(d.DeviceIDs) == 0 {
			return "Every device needs deviceIds."
		}
		for _, id := range d.DeviceIDs {
			if id.Kind == "" || id.ID == "" {
				return "Every device identifier needs a kind and an id."
			}
		}
	}
	return ""
}

func isZip(s string) bool {
	if len(s) != 5 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// resolve finds the devices of b in its account: every identifier of a
// device must name the same device. The caller holds mu.
func (inv *inventory) resolve(b actionBody) ([]*record, string, string) {
	var out []*record
	for _, d := range b.Devices {
		var r *record
		for _, id := range d.DeviceIDs {
			x, ok := inv.index[idKey(id.Kind, id.ID)]
			if !ok || x.d.AccountName != b.AccountName || (r != nil && x != r) {
				return nil, codeDeviceNotFound, fmt.Sprintf("Device %s %s was not found in account %s.", id.Kind, id.ID, b.AccountName)
			}
			r = x
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out, "", ""
}

// apply checks and applies op to every device of b, all or none (the
// simulator refuses the whole request for one device in a wrong state; the
// real service reports per device in its callback). It returns the code
// and message of a refusal.
func (inv *inventory) apply(op string, b actionBody, user string, now time.Time) (string, string) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if !inv.accounts[b.AccountName] {
		return codeAccountNotFound, "The account " + b.AccountName + " was not found."
	}
	recs, code, msg := inv.resolve(b)
	if code != "" {
		return code, msg
	}
	rule := transitions[op]
	for _, r := range recs {
		if st := r.d.State(); !slices.Contains(rule.from, st) {
			return codeInvalidState, fmt.Sprintf("Cannot %s device %s: it is %s.", op, r.d.DeviceIDs[0].ID, st)
		}
	}
	for _, r := range recs {
		inv.change(r, op, b, user, now)
	}
	return "", ""
}

// change applies op to one device. The caller holds mu.
func (inv *inventory) change(r *record, op string, b actionBody, user string, now time.Time) {
	r.encoded = nil
	ci := &r.d.CarrierInformations[0]
	if to := transitions[op].to; to != "" {
		ci.State = to
	}
	switch op {
	case ActionActivate:
		ci.ServicePlan = b.ServicePlan
		r.d.LastActivationDate, r.d.LastActivationBy = formatTime(now), user
		if r.d.ID(KindMDN) == "" {
			mdn := inv.uniqueID(KindMDN, func() string { return genMDN(inv.rng, b.MdnZipCode) })
			r.d.DeviceIDs = append(r.d.DeviceIDs, DeviceID{Kind: KindMDN, ID: mdn})
			inv.index[idKey(KindMDN, mdn)] = r
		}
		r.d.IPAddress = genIP(inv.rng)
	case ActionSuspend:
		r.d.Connected = false
	case ActionDeactivate:
		r.d.Connected, r.d.IPAddress = false, ""
	case ActionPlan:
		ci.ServicePlan = b.ServicePlan
	}
}

// handleDeviceAction serves one action: session checks, validation, the
// state rules, then the user's faults for the answer of an applied action.
func (s *Server) handleDeviceAction(op string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := s.session(w, r)
		if name == "" {
			return
		}
		var b actionBody
		data, err := io.ReadAll(io.LimitReader(r.Body, maxRequest))
		if err != nil || json.Unmarshal(data, &b) != nil {
			s.countDeviceCall(name, deviceRejected)
			writeM2MError(w, http.StatusBadRequest, codeMalformed, "The request body is malformed.")
			return
		}
		if msg := b.validate(op); msg != "" {
			s.countDeviceCall(name, deviceRejected)
			writeM2MError(w, http.StatusBadRequest, codeInvalidInput, msg)
			return
		}
		if s.async.enabled() {
			s.queue(w, op, name, b)
			return
		}
		if code, msg := s.inv.apply(op, b, name, s.now()); code != "" {
			s.countDeviceCall(name, deviceRejected)
			writeM2MError(w, http.StatusBadRequest, code, msg)
			return
		}
		s.countDeviceCall(name, deviceApplied)
		f := s.faultsOf(name)
		switch {
		case f.DeviceActionDropAfter:
			dropConnection(w)
		case f.DeviceActionFailAfter:
			writeProxyError(w)
		default:
			writeJSON(w, http.StatusOK, map[string]string{"requestId": newRequestID()})
		}
	}
}

// newRequestID returns a random (version 4) UUID.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it crashes instead)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

type deviceCall int

const (
	deviceList deviceCall = iota
	deviceApplied
	deviceRejected
)

// countDeviceCall counts a device call of name that reached the service.
func (s *Server) countDeviceCall(name string, kind deviceCall) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Calls++
	u := s.users[name]
	if u == nil {
		return
	}
	u.c.Calls++
	switch kind {
	case deviceList:
		u.c.DeviceLists++
	case deviceApplied:
		u.c.DeviceActions++
	case deviceRejected:
		u.c.DeviceActionsRejected++
	}
}

// deviceTime is the zone of the dates in answers (Verizon's examples carry
// US Eastern offsets); a fixed offset keeps the simulator free of tzdata.
var deviceTime = time.FixedZone("EDT", -4*3600)

func formatTime(t time.Time) string { return t.In(deviceTime).Format(time.RFC3339) }

// actionRoutes are the method and path of each action.
var actionRoutes = map[string]string{
	ActionActivate:   "POST /api/m2m/v1/devices/actions/activate",
	ActionSuspend:    "POST /api/m2m/v1/devices/actions/suspend",
	ActionRestore:    "POST /api/m2m/v1/devices/actions/restore",
	ActionDeactivate: "POST /api/m2m/v1/devices/actions/deactivate",
	ActionPlan:       "PUT /api/m2m/v1/devices/actions/plan",
}

func (s *Server) deviceRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /api/m2m/v1/devices/actions/list", s.handleDeviceList)
	for op, pattern := range actionRoutes {
		m.HandleFunc(pattern, s.handleDeviceAction(op))
	}
	m.HandleFunc("POST /_tsim/accounts/{account}/devices", s.handleAdminSeedDevices)
	m.HandleFunc("GET /_tsim/accounts/{account}/devices/{id}", s.handleAdminGetDevice)
}
