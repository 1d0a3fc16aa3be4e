package thingspace

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Connectivity Management device calls. The JSON names are those of
// Verizon's generated SDKs (AccountDeviceListRequest, AccountDeviceListResult,
// ThingspaceDevice, CarrierActivateRequest, CarrierActionsRequest,
// CarrierDeactivateRequest, ServicePlanUpdateRequest, DeviceManagementResult).

// Device actions, named as everywhere in the portal (policy, audit, API
// scopes). "list" is the read.
const (
	ActionList       = "list"
	ActionActivate   = "activate"
	ActionSuspend    = "suspend"
	ActionRestore    = "restore"
	ActionDeactivate = "deactivate"
	ActionPlan       = "plan"
)

const devicesPath = "/api/m2m/v1/devices/actions/"

// actionMethods are the HTTP methods of the actions; the path is
// devicesPath + the action's name.
var actionMethods = map[string]string{
	ActionActivate:   http.MethodPost,
	ActionSuspend:    http.MethodPost,
	ActionRestore:    http.MethodPost,
	ActionDeactivate: http.MethodPost,
	ActionPlan:       http.MethodPut,
}

// ActionEndpoint returns the method and path of a device action (not
// list), ok false for any other name.
func ActionEndpoint(op string) (method, path string, ok bool) {
	method, ok = actionMethods[op]
	if !ok {
		return "", "", false
	}
	return method, devicesPath + op, true
}

// Device states as answers spell them in carrierInformations[].state
// (documented as "Activate, Suspend, Deactive, Pre-active"; answers say
// "active"; the others' exact spelling is unconfirmed: compare with
// SameState).
const (
	StateActive    = "active"
	StateSuspend   = "suspend"
	StateDeactive  = "deactive"
	StatePreActive = "pre-active"
)

// SameState reports whether two spellings name the same device state,
// ignoring case, hyphens and the verb forms ("Pre-active" = "preactive",
// "Activate" = "active", "suspended" = "suspend").
func SameState(a, b string) bool {
	ca := canonState(a)
	return ca != "" && ca == canonState(b)
}

// stateSeparators are dropped from a state's spelling; built once, as a
// Replacer builds its tables on first use.
var stateSeparators = strings.NewReplacer("-", "", "_", "", " ", "")

func canonState(s string) string {
	s = strings.ToLower(stateSeparators.Replace(s))
	switch s {
	case "activate", "activated":
		return "active"
	case "suspended":
		return "suspend"
	case "deactivate", "deactivated":
		return "deactive"
	}
	return s
}

// DeviceID is one identifier of a device. Kind is one of "iccid", "imei",
// "mdn", "meid", "esn", "eid", "msisdn".
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

// KeyValue is a custom field or an extended attribute.
type KeyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Device is one device of a list answer (ThingspaceDevice). Dates are
// kept as sent (ISO 8601 with an offset).
type Device struct {
	AccountName         string               `json:"accountName,omitempty"`
	BillingCycleEndDate string               `json:"billingCycleEndDate,omitempty"`
	CarrierInformations []CarrierInformation `json:"carrierInformations,omitempty"`
	Connected           bool                 `json:"connected"`
	CreatedAt           string               `json:"createdAt,omitempty"`
	CustomFields        []KeyValue           `json:"customFields,omitempty"`
	DeviceIDs           []DeviceID           `json:"deviceIds"`
	ExtendedAttributes  []KeyValue           `json:"extendedAttributes,omitempty"`
	GroupNames          []string             `json:"groupNames,omitempty"`
	IPAddress           string               `json:"ipAddress,omitempty"`
	LastActivationBy    string               `json:"lastActivationBy,omitempty"`
	LastActivationDate  string               `json:"lastActivationDate,omitempty"`
	LastConnectionDate  string               `json:"lastConnectionDate,omitempty"`
}

// State is the state of the device's first carrier ("" if none).
func (d Device) State() string {
	if len(d.CarrierInformations) == 0 {
		return ""
	}
	return d.CarrierInformations[0].State
}

// ServicePlan is the service plan of the device's first carrier.
func (d Device) ServicePlan() string {
	if len(d.CarrierInformations) == 0 {
		return ""
	}
	return d.CarrierInformations[0].ServicePlan
}

// ID returns the device's identifier of kind (case-insensitive), or "".
func (d Device) ID(kind string) string {
	for _, id := range d.DeviceIDs {
		if strings.EqualFold(id.Kind, kind) {
			return id.ID
		}
	}
	return ""
}

// PagingID is the device's internal numeric id, the extended attribute
// "DeviceId" that a next page request sends as largestDeviceIdSeen.
func (d Device) PagingID() (int64, bool) {
	for _, kv := range d.ExtendedAttributes {
		if kv.Key == "DeviceId" {
			n, err := strconv.ParseInt(strings.TrimSpace(kv.Value), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// DeviceIDSearch matches identifiers of Kind that contain, start with and
// end with the given strings.
type DeviceIDSearch struct {
	Kind       string `json:"kind"`
	Contains   string `json:"contains,omitempty"`
	StartsWith string `json:"startswith,omitempty"`
	EndsWith   string `json:"endswith,omitempty"`
}

// DeviceFilter is the list request's filter.
type DeviceFilter struct {
	DeviceIdentifierFilters []DeviceIDSearch `json:"deviceIdentifierFilters"`
}

// ListDevicesRequest is AccountDeviceListRequest. Without AccountName the
// list holds every device the UWS user may see. A next page repeats the
// request with LargestDeviceIDSeen set (see ListDevicesResponse.Next).
type ListDevicesRequest struct {
	AccountName         string        `json:"accountName,omitempty"`
	DeviceID            *DeviceID     `json:"deviceId,omitempty"`
	Filter              *DeviceFilter `json:"filter,omitempty"`
	CurrentState        string        `json:"currentState,omitempty"`
	CustomFields        []KeyValue    `json:"customFields,omitempty"`
	Earliest            string        `json:"earliest,omitempty"`
	GroupName           string        `json:"groupName,omitempty"`
	Latest              string        `json:"latest,omitempty"`
	ServicePlan         string        `json:"servicePlan,omitempty"`
	MaxNumberOfDevices  int           `json:"maxNumberOfDevices,omitempty"`
	LargestDeviceIDSeen int64         `json:"largestDeviceIdSeen,omitempty"`
}

// ListDevicesResponse is AccountDeviceListResult: devices oldest first;
// HasMoreData is true (with HTTP 202) when more follow.
type ListDevicesResponse struct {
	HasMoreData bool     `json:"hasMoreData"`
	Devices     []Device `json:"devices"`
}

// Next returns the request for the page after r, made from req; ok is
// false when r is the last page. An answer that says more data follows
// but whose last device carries no usable DeviceId cannot be continued:
// that is an error, not the end.
func (r ListDevicesResponse) Next(req ListDevicesRequest) (next ListDevicesRequest, ok bool, err error) {
	if !r.HasMoreData {
		return req, false, nil
	}
	if len(r.Devices) == 0 {
		return req, false, errors.New("thingspace list: more data announced after an empty page")
	}
	id, found := r.Devices[len(r.Devices)-1].PagingID()
	if !found || id <= req.LargestDeviceIDSeen {
		return req, false, fmt.Errorf("thingspace list: the last device has no DeviceId after %d to continue from", req.LargestDeviceIDSeen)
	}
	req.LargestDeviceIDSeen = id
	return req, true, nil
}

// DeviceRef names one device of an action by its identifiers
// (AccountDeviceList).
type DeviceRef struct {
	DeviceIDs []DeviceID `json:"deviceIds"`
	IPAddress string     `json:"ipAddress,omitempty"`
}

// ActivateRequest is CarrierActivateRequest.
type ActivateRequest struct {
	AccountName       string      `json:"accountName"`
	Devices           []DeviceRef `json:"devices"`
	ServicePlan       string      `json:"servicePlan"`
	MdnZipCode        string      `json:"mdnZipCode"`
	CarrierName       string      `json:"carrierName,omitempty"`
	CarrierIPPoolName string      `json:"carrierIpPoolName,omitempty"`
	CostCenterCode    string      `json:"costCenterCode,omitempty"`
	GroupName         string      `json:"groupName,omitempty"`
	SkuNumber         string      `json:"skuNumber,omitempty"`
}

// ActionRequest is CarrierActionsRequest, the body of suspend and restore.
type ActionRequest struct {
	AccountName string      `json:"accountName"`
	Devices     []DeviceRef `json:"devices"`
	WithBilling *bool       `json:"withBilling,omitempty"` // suspend only
	GroupName   string      `json:"groupName,omitempty"`
	ServicePlan string      `json:"servicePlan,omitempty"`
}

// DeactivateRequest is CarrierDeactivateRequest. ReasonCode "FF" (General
// Admin/Maintenance) is documented as the only valid one. Deactivation may
// cost an early termination fee unless EtfWaiver is set and allowed.
type DeactivateRequest struct {
	AccountName             string      `json:"accountName"`
	Devices                 []DeviceRef `json:"devices"`
	ReasonCode              string      `json:"reasonCode"`
	EtfWaiver               bool        `json:"etfWaiver"`
	DeleteAfterDeactivation bool        `json:"deleteAfterDeactivation,omitempty"`
}

// ChangePlanRequest is ServicePlanUpdateRequest.
type ChangePlanRequest struct {
	AccountName        string      `json:"accountName"`
	Devices            []DeviceRef `json:"devices"`
	ServicePlan        string      `json:"servicePlan"`
	CurrentServicePlan string      `json:"currentServicePlan,omitempty"`
	CarrierIPPoolName  string      `json:"carrierIpPoolName,omitempty"`
}

// ActionResponse is DeviceManagementResult: the handle of the asynchronous
// request; results arrive by callback (re-read the device instead).
type ActionResponse struct {
	RequestID string `json:"requestId"`
}
