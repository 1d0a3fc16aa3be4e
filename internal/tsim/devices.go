package tsim

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Device states as the list answer spells them in carrierInformations[].state.
// Verizon's SDK documentation names them "Activate, Suspend, Deactive,
// Pre-active" and its example answer says "active"; the exact spelling of
// the others in answers is unconfirmed, so the simulator reads a state
// filter tolerantly (see normalizeState) and answers with these.
const (
	StateActive    = "active"
	StateSuspend   = "suspend"
	StateDeactive  = "deactive"
	StatePreActive = "pre-active"
)

// Device identifier kinds (DeviceId.kind), lower case as in the SDK examples.
const (
	KindICCID = "iccid"
	KindIMEI  = "imei"
	KindMDN   = "mdn"
	KindMEID  = "meid"
	KindESN   = "esn"
	KindEID   = "eid"
)

// CarrierName is the carrier of every simulated device.
const CarrierName = "Verizon Wireless"

// extDeviceID is the extended attribute that carries a device's internal
// numeric id: the value a client sends back as largestDeviceIdSeen.
const extDeviceID = "DeviceId"

// DeviceID is one identifier of a device.
type DeviceID struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// CarrierInformation is a device's carrier, service plan and state.
type CarrierInformation struct {
	CarrierName string `json:"carrierName,omitempty"`
	ServicePlan string `json:"servicePlan,omitempty"`
	State       string `json:"state,omitempty"`
}

// KeyValue is an extended attribute or custom field.
type KeyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Device is one device as the list answer shows it.
type Device struct {
	AccountName         string               `json:"accountName"`
	BillingCycleEndDate string               `json:"billingCycleEndDate,omitempty"`
	CarrierInformations []CarrierInformation `json:"carrierInformations"`
	Connected           bool                 `json:"connected"`
	CreatedAt           string               `json:"createdAt,omitempty"`
	DeviceIDs           []DeviceID           `json:"deviceIds"`
	ExtendedAttributes  []KeyValue           `json:"extendedAttributes,omitempty"`
	GroupNames          []string             `json:"groupNames,omitempty"`
	IPAddress           string               `json:"ipAddress,omitempty"`
	LastActivationBy    string               `json:"lastActivationBy,omitempty"`
	LastActivationDate  string               `json:"lastActivationDate,omitempty"`
	LastConnectionDate  string               `json:"lastConnectionDate,omitempty"`
}

// State is the device's state ("" if it has no carrier information).
func (d Device) State() string {
	if len(d.CarrierInformations) == 0 {
		return ""
	}
	return d.CarrierInformations[0].State
}

// ServicePlan is the device's service plan.
func (d Device) ServicePlan() string {
	if len(d.CarrierInformations) == 0 {
		return ""
	}
	return d.CarrierInformations[0].ServicePlan
}

// ID returns the device's identifier of kind, or "".
func (d Device) ID(kind string) string {
	for _, id := range d.DeviceIDs {
		if strings.EqualFold(id.Kind, kind) {
			return id.ID
		}
	}
	return ""
}

// clone returns a deep copy, so that answers and tests never share slices
// with the inventory.
func (d Device) clone() Device {
	d.CarrierInformations = slices.Clone(d.CarrierInformations)
	d.DeviceIDs = slices.Clone(d.DeviceIDs)
	d.ExtendedAttributes = slices.Clone(d.ExtendedAttributes)
	d.GroupNames = slices.Clone(d.GroupNames)
	return d
}

// record is a device in the inventory with its internal id, which only
// grows: the list is ordered by it (creation order, oldest first) and
// pages continue after the largestDeviceIdSeen a client sends back.
type record struct {
	seq int64
	d   Device
	// encoded is d as JSON, made by the first list that shows it since d
	// last changed (nil until then): a list of 100 devices encoded them
	// all on every call, most of the simulator's CPU in the load test,
	// whose cores the portal shares. Never changed in place, so an answer
	// being written keeps its bytes.
	encoded []byte
}

// json is r's device as JSON. The caller holds mu.
func (r *record) json() []byte {
	if r.encoded == nil {
		b, err := json.Marshal(r.d)
		if err != nil { // a Device always encodes
			panic(err)
		}
		r.encoded = b
	}
	return r.encoded
}

// inventory holds every account's devices.
type inventory struct {
	mu       sync.Mutex
	seq      int64
	accounts map[string]bool
	records  []*record          // ordered by seq
	index    map[string]*record // idKey(kind, id) → record
	rng      *rand.Rand         // identifiers and addresses of activations

	lastCreated time.Time // creation date of the last seeded device
}

func newInventory() *inventory {
	return &inventory{accounts: make(map[string]bool), index: make(map[string]*record), rng: rand.New(rand.NewPCG(1, 2))}
}

func idKey(kind, id string) string { return strings.ToLower(kind) + ":" + id }

// add appends d with the next internal id. The caller holds mu and has
// checked that d's identifiers are new.
func (inv *inventory) add(d Device) *record {
	inv.seq++
	d.ExtendedAttributes = append(d.ExtendedAttributes, KeyValue{Key: extDeviceID, Value: strconv.FormatInt(inv.seq, 10)})
	r := &record{seq: inv.seq, d: d}
	inv.records = append(inv.records, r)
	for _, id := range d.DeviceIDs {
		inv.index[idKey(id.Kind, id.ID)] = r
	}
	return r
}

// find returns the device with identifier id (of any kind) in account ("":
// any account).
func (inv *inventory) find(account, id string) (*record, bool) {
	for _, kind := range []string{KindICCID, KindIMEI, KindMDN, KindMEID, KindESN, KindEID} {
		if r, ok := inv.index[idKey(kind, id)]; ok && (account == "" || r.d.AccountName == account) {
			return r, true
		}
	}
	return nil, false
}

// Device returns the device of account (any account if "") that has
// identifier id of any kind.
func (s *Server) Device(account, id string) (Device, bool) {
	s.inv.mu.Lock()
	defer s.inv.mu.Unlock()
	r, ok := s.inv.find(account, id)
	if !ok {
		return Device{}, false
	}
	return r.d.clone(), true
}

// AccountDevices returns how many devices account holds and whether the
// simulator knows the account.
func (s *Server) AccountDevices(account string) (n int, ok bool) {
	s.inv.mu.Lock()
	defer s.inv.mu.Unlock()
	for _, r := range s.inv.records {
		if r.d.AccountName == account {
			n++
		}
	}
	return n, s.inv.accounts[account]
}

// normalizeState reads a state as a client may spell it ("Active",
// "activate", "Pre-active", "preactive", "SUSPENDED") and returns the
// simulator's spelling, or "" if it names no state.
func normalizeState(v string) string {
	v = strings.ToLower(strings.NewReplacer("-", "", "_", "", " ", "").Replace(v))
	switch v {
	case "active", "activate", "activated":
		return StateActive
	case "suspend", "suspended":
		return StateSuspend
	case "deactive", "deactivate", "deactivated":
		return StateDeactive
	case "preactive", "preactivate":
		return StatePreActive
	}
	return ""
}
