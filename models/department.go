package models

import (
	"strings"
	"time"
)

// Protocol is how the portal talks to ThingSpace for a department.
type Protocol string

const (
	ProtocolREST Protocol = "rest"
	ProtocolSOAP Protocol = "soap"
)

// Department owns one UWS credential.
type Department struct {
	ID              int64
	Slug            string
	Name            string
	Protocol        Protocol
	MaxAgeDays      int
	ScheduleEnabled bool
	RevealAllowed   bool
	// AccountName is the department's ThingSpace account (0000123456-00001),
	// which device operations name.
	AccountName string
	// Approvals say which actions need a second person's approval.
	Approvals ApprovalRules
	CreatedAt time.Time
}

// DefaultMaxAgeDays is Verizon's recommended rotation interval.
const DefaultMaxAgeDays = 90

// Validate checks a department before it is stored.
func (d *Department) Validate() error {
	d.Name = strings.TrimSpace(d.Name)
	if !ValidSlug(d.Slug) {
		return Invalidf("slug", "The slug must be 1 to 63 lower-case letters, digits or dashes, starting with a letter or digit.")
	}
	if d.Name == "" || len(d.Name) > 200 || hasControl(d.Name) {
		return Invalidf("name", "The name must be 1 to 200 printable characters.")
	}
	if d.Protocol == "" {
		d.Protocol = ProtocolREST
	}
	if d.Protocol != ProtocolREST && d.Protocol != ProtocolSOAP {
		return Invalidf("protocol", "The protocol must be rest or soap.")
	}
	if d.MaxAgeDays == 0 {
		d.MaxAgeDays = DefaultMaxAgeDays
	}
	if err := ValidAccountName(d.AccountName); err != nil {
		return err
	}
	if d.MaxAgeDays < 1 || d.MaxAgeDays > 3650 {
		return Invalidf("max_age_days", "The maximum age must be from 1 to 3650 days.")
	}
	return nil
}
