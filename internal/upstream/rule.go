package upstream

import (
	"fmt"

	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/models"
)

// HardFailureCap is the most failed logins the portal will ever have made
// with an account since its last successful login, whatever admins clear
// or enter: ThingSpace locks at 5, so one attempt always stays between.
const HardFailureCap = 4

// DefaultThreshold is the default quarantine threshold.
const DefaultThreshold = 2

// Rule is the lockout rule. Refusal is the one place it is written; the
// guard applies it under the account's row lock before every login, and
// the use cases ask it only to explain a refusal before starting, or (an
// administrator's clear) to refuse what would let the portal pass the cap.
type Rule struct {
	Threshold int // consecutive failures that quarantine (< HardFailureCap)
}

// Refusal says why the portal will not make one more login with an account
// now, or nil. consecutive counts toward the quarantine threshold (an
// administrator's clear resets it); sinceSuccess is ThingSpace's own count
// (only a successful login resets it). explicit is a person's own
// verification of a password they are entering: it may pass a quarantine,
// never the hard cap, so no path ever makes a fifth failed login.
func (r Rule) Refusal(state models.CredentialState, consecutive, sinceSuccess int, explicit bool) error {
	switch {
	case sinceSuccess >= HardFailureCap:
		return refusal("The portal has made %d failed logins with this username since its last successful one; "+
			"one more could lock it. Check the password in ThingSpace Manage, then replace the credential stating that Verizon reset the count.", sinceSuccess)
	case explicit:
		return nil
	case state == models.StateQuarantined:
		return refusal("The credential is quarantined after failed logins; an administrator must fix it first.")
	case consecutive >= r.Threshold:
		return refusal("The lockout guard refuses further logins with this username (%d consecutive failures) until an administrator fixes it.", consecutive)
	}
	return nil
}

// Quarantines reports whether counts reached after a failure quarantine
// the credential.
func (r Rule) Quarantines(consecutive, sinceSuccess int) bool {
	return consecutive >= r.Threshold || sinceSuccess >= HardFailureCap
}

func refusal(format string, args ...any) error {
	return &models.Error{Kind: models.ErrConflict, Message: fmt.Sprintf(format, args...), Err: thingspace.ErrGuardRefused}
}
