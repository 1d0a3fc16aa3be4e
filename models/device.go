package models

import (
	"regexp"
	"slices"
	"strings"
)

// Operation is one thing a person or an application may do with a
// department's devices. The names are the same everywhere: the policy, the
// audit trail, the command line and API client scopes.
type Operation string

const (
	OpList       Operation = "list"
	OpSuspend    Operation = "suspend"
	OpRestore    Operation = "restore"
	OpActivate   Operation = "activate"
	OpPlan       Operation = "plan"
	OpDeactivate Operation = "deactivate"
)

// Operations lists every operation, in the order pages show them.
var Operations = []Operation{OpList, OpSuspend, OpRestore, OpActivate, OpPlan, OpDeactivate}

// Actions are the operations that change a device.
var Actions = Operations[1:]

// ParseOperation reads an operation name.
func ParseOperation(s string) (Operation, error) {
	op := Operation(strings.TrimSpace(s))
	if !slices.Contains(Operations, op) {
		return "", Errorf(ErrInvalid, "Unknown operation %q: use list, suspend, restore, activate, plan or deactivate.", ClipMark(s, 20))
	}
	return op, nil
}

// DevicePolicy says which roles of a department may do which operation.
// Admins may do everything and auditors nothing, whatever it says; the
// policy covers leads and members. Anything not listed is denied.
type DevicePolicy map[Role][]Operation

// PolicyRoles are the roles a department's policy governs.
var PolicyRoles = []Role{RoleLead, RoleMember}

// DefaultDevicePolicy: members list; leads do everything (deactivate
// behind a typed confirmation).
func DefaultDevicePolicy() DevicePolicy {
	return DevicePolicy{RoleMember: {OpList}, RoleLead: slices.Clone(Operations)}
}

// Allows reports whether role may do op under the policy.
func (dp DevicePolicy) Allows(role Role, op Operation) bool {
	switch role {
	case RoleAdmin:
		return true
	case RoleLead, RoleMember:
		return slices.Contains(dp[role], op)
	}
	return false
}

// DeviceOperations are the operations p may do on dept's devices.
func (dp DevicePolicy) DeviceOperations(p *Principal, dept string) []Operation {
	var out []Operation
	for _, op := range Operations {
		if dp.Permits(p, dept, op) {
			out = append(out, op)
		}
	}
	return out
}

// Permits reports whether any of p's grants allows op on dept's devices.
func (dp DevicePolicy) Permits(p *Principal, dept string, op Operation) bool {
	if p.Anonymous() {
		return false
	}
	for _, g := range p.Grants {
		if (g.Role == RoleAdmin && g.Department == "") || (g.Department == dept && dp.Allows(g.Role, op)) {
			return true
		}
	}
	return false
}

// DeviceID is one identifier of a device, as ThingSpace names it.
type DeviceID struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

var (
	digits = regexp.MustCompile(`^[0-9]+$`)
	meid   = regexp.MustCompile(`^[0-9A-Fa-f]{14}$`)
)

// ParseDeviceID reads an identifier a person typed or pasted: an MDN (10
// digits), an IMEI (15), an ICCID (19 or 20), an EID (32) or an MEID (14
// hexadecimal). Spaces, dashes, dots and parentheses are ignored.
func ParseDeviceID(s string) (DeviceID, error) {
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '.', '(', ')', '\t':
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	switch n := len(clean); {
	case n == 0:
		return DeviceID{}, Errorf(ErrInvalid, "A device identifier is empty.")
	case digits.MatchString(clean) && n == 10:
		return DeviceID{Kind: "mdn", ID: clean}, nil
	case digits.MatchString(clean) && n == 15:
		return DeviceID{Kind: "imei", ID: clean}, nil
	case digits.MatchString(clean) && (n == 19 || n == 20):
		return DeviceID{Kind: "iccid", ID: clean}, nil
	case digits.MatchString(clean) && n == 32:
		return DeviceID{Kind: "eid", ID: clean}, nil
	case meid.MatchString(clean):
		return DeviceID{Kind: "meid", ID: strings.ToUpper(clean)}, nil
	}
	return DeviceID{}, Errorf(ErrInvalid, "%q is not a device identifier: give an MDN (10 digits), an IMEI (15), an ICCID (19 or 20), an EID (32) or an MEID (14 hexadecimal).", ClipMark(s, 40))
}

// MaxDevicesPerAction bounds one action's list of devices.
const MaxDevicesPerAction = 100

// ParseDeviceList reads a pasted list (one identifier per line, or
// separated by commas or spaces), without duplicates.
func ParseDeviceList(s string) ([]DeviceID, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' || r == ';' || r == ' ' || r == '\t' })
	if len(fields) > MaxDevicesPerAction {
		return nil, Errorf(ErrInvalid, "%d devices at once is too many: at most %d per action.", len(fields), MaxDevicesPerAction)
	}
	var out []DeviceID
	for _, f := range fields {
		id, err := ParseDeviceID(f)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	if len(out) == 0 {
		return nil, Errorf(ErrInvalid, "Give at least one device.")
	}
	return out, nil
}

// accountName is ThingSpace's account name: 10 digits, a dash, 5 digits.
var accountName = regexp.MustCompile(`^[0-9]{10}-[0-9]{5}$`)

// ValidAccountName checks a ThingSpace account name ("" is none yet).
func ValidAccountName(s string) error {
	if s != "" && !accountName.MatchString(s) {
		return Invalidf("account_name", "The ThingSpace account name looks like 0000123456-00001 (10 digits, a dash, 5 digits).")
	}
	return nil
}

// Device is one line of a department, as the portal shows it.
type Device struct {
	IDs            []DeviceID
	State          string
	ServicePlan    string
	Carrier        string
	Connected      bool
	IPAddress      string
	LastActivation string
	LastConnection string
}

// ID returns the device's identifier of kind, or "".
func (d Device) ID(kind string) string {
	for _, id := range d.IDs {
		if id.Kind == kind {
			return id.ID
		}
	}
	return ""
}

// Primary is the identifier to name the device by: its MDN, else its
// ICCID, else whatever it has.
func (d Device) Primary() DeviceID {
	for _, kind := range []string{"mdn", "iccid", "imei", "eid", "meid", "esn"} {
		if v := d.ID(kind); v != "" {
			return DeviceID{Kind: kind, ID: v}
		}
	}
	if len(d.IDs) > 0 {
		return d.IDs[0]
	}
	return DeviceID{}
}
