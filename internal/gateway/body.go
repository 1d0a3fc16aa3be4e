package gateway

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/models"
)

// maxIDsPerDevice bounds one device's identifiers (there are six kinds).
const maxIDsPerDevice = 6

// Selectors an action body may not carry through the gateway, whatever
// the client's operations: each makes ThingSpace act on every device that
// matches (a group, custom field values, a service plan) rather than on
// the devices listed, so neither the scope check nor the audit trail
// would know which devices were touched. An application lists devices.
var groupSelectors = []string{"groupName", "customFields", "filter", "currentServicePlan"}

var (
	errSelector = m2m(http.StatusForbidden, "REQUEST_FAILED.SelectorNotAllowed",
		"Group selectors (groupName, customFields, filter, and servicePlan except as the new plan of activate or plan) are not accepted through the portal's gateway: list the devices.", "group_selector")
	errDeletion = m2m(http.StatusForbidden, "REQUEST_FAILED.DeletionNotAllowed",
		"deleteAfterDeactivation is not accepted through the portal's gateway.", "delete_after_deactivation")
	errNoDevices = m2m(http.StatusBadRequest, "INPUT_INVALID.Devices",
		"An action names its devices: devices, each with 1 to 6 deviceIds.", "devices")
	errTooManyDevices = m2m(http.StatusBadRequest, "INPUT_INVALID.Devices.TooMany",
		"At most 100 devices per call.", "too_many_devices")
)

// checkBody checks that a device call's body is a JSON object for the
// client's account and, for an action, that it names at most 100 devices
// and carries no group selector or deletion flag; it returns the body
// re-encoded (what is forwarded is exactly what was checked: no duplicate
// or case-variant keys) and every device it names, for the audit.
func checkBody(raw []byte, account string, op models.Operation) ([]byte, []string, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, nil, errJSON
	}
	for k := range obj {
		if strings.EqualFold(k, "accountName") && k != "accountName" {
			return nil, nil, errAccount
		}
	}
	var name string
	if err := json.Unmarshal(obj["accountName"], &name); err != nil || account == "" || name != account {
		return nil, nil, errAccount
	}
	if op != models.OpList {
		if err := checkAction(obj, op); err != nil {
			return nil, nil, err
		}
	}
	body, err := json.Marshal(obj)
	if err != nil {
		return nil, nil, errJSON
	}
	return body, auditDevices(body), nil
}

// checkAction refuses an action's selectors (matched without regard to
// case, as a lenient JSON reader upstream might) and checks its devices.
func checkAction(obj map[string]json.RawMessage, op models.Operation) error {
	for k, v := range obj {
		for _, sel := range groupSelectors {
			if strings.EqualFold(k, sel) {
				return errSelector
			}
		}
		// servicePlan is the new plan of activate and plan; elsewhere, a filter.
		if strings.EqualFold(k, "servicePlan") && (k != "servicePlan" || (op != models.OpActivate && op != models.OpPlan)) {
			return errSelector
		}
		if strings.EqualFold(k, "deleteAfterDeactivation") && string(v) != "false" {
			return errDeletion
		}
	}
	var devices []struct {
		DeviceIDs []json.RawMessage `json:"deviceIds"`
	}
	if err := json.Unmarshal(obj["devices"], &devices); err != nil || len(devices) == 0 {
		return errNoDevices
	}
	if len(devices) > models.MaxDevicesPerAction {
		return errTooManyDevices
	}
	for _, d := range devices {
		if len(d.DeviceIDs) == 0 || len(d.DeviceIDs) > maxIDsPerDevice {
			return errNoDevices
		}
	}
	return nil
}

// auditDevices lists each device a body names, as its identifiers
// kind:id joined by "+" (one entry per device: a checked action names at
// most 100, all of them recorded).
func auditDevices(body []byte) []string {
	var in struct {
		DeviceID *thingspace.DeviceID `json:"deviceId"`
		Devices  []struct {
			DeviceIDs []thingspace.DeviceID `json:"deviceIds"`
		} `json:"devices"`
	}
	_ = json.Unmarshal(body, &in) // best effort: the body is ThingSpace's to judge
	out := []string{}
	one := func(ids []thingspace.DeviceID) string {
		parts := make([]string, 0, len(ids))
		for i, id := range ids {
			if i == maxIDsPerDevice {
				break
			}
			parts = append(parts, models.Clip(id.Kind, 8)+":"+models.Clip(id.ID, 40))
		}
		return strings.Join(parts, "+")
	}
	if in.DeviceID != nil {
		out = append(out, one([]thingspace.DeviceID{*in.DeviceID}))
	}
	for i, d := range in.Devices {
		if i == models.MaxDevicesPerAction {
			break
		}
		out = append(out, one(d.DeviceIDs))
	}
	return out
}
