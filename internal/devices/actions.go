package devices

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/uwsportal/uwsportal/internal/approvals"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/internal/upstream"
	"github.com/uwsportal/uwsportal/models"
)

// Action is what a person asks to be done to some devices.
type Action struct {
	Op          models.Operation
	Devices     []models.DeviceID
	ServicePlan string // activate, plan
	ZIP         string // activate: the MDN's ZIP code
	ReasonCode  string // deactivate
	ETFWaiver   bool   // deactivate: ask for the early termination fee to be waived
	// Confirm is the MDN or ICCID typed by the person to deactivate.
	Confirm string
	// Approval is the person's approved request to deactivate these
	// devices, where the department requires one (0: none).
	Approval int64
}

// Outcome of one device's action.
const (
	Accepted = "accepted" // ThingSpace took it (it answers with a request id)
	Refused  = "refused"  // ThingSpace refused it: nothing changed
	Unknown  = "unknown"  // the answer was lost: it may or may not have been applied
)

// DeviceResult is what an action did to one device.
type DeviceResult struct {
	Device    models.DeviceID
	Outcome   string
	RequestID string
	Code      string // ThingSpace's error code, or the failure class
	Message   string // safe to show
	// Now is the device as re-read after an unknown outcome (nil if that
	// read failed too).
	Now *models.Device
	// Request is the portal's record that follows the action to its end
	// (0 if it could not be written).
	Request int64
}

var (
	planPattern   = regexp.MustCompile(`^[A-Za-z0-9 _.\-]{1,64}$`)
	zipPattern    = regexp.MustCompile(`^[0-9]{5}$`)
	reasonPattern = regexp.MustCompile(`^[A-Za-z0-9_]{1,16}$`)
)

// Validate checks an action before anything is sent: a clear error and
// nothing upstream for bad input.
func (a *Action) Validate() error {
	if !slices.Contains(models.Actions, a.Op) {
		return models.Errorf(models.ErrInvalid, "Unknown action %q.", models.ClipMark(string(a.Op), 20))
	}
	switch {
	case len(a.Devices) == 0:
		return models.Errorf(models.ErrInvalid, "Choose at least one device.")
	case len(a.Devices) > models.MaxDevicesPerAction:
		return models.Errorf(models.ErrInvalid, "At most %d devices per action.", models.MaxDevicesPerAction)
	}
	a.ServicePlan, a.ZIP, a.ReasonCode = strings.TrimSpace(a.ServicePlan), strings.TrimSpace(a.ZIP), strings.TrimSpace(a.ReasonCode)
	switch a.Op {
	case models.OpActivate:
		if !planPattern.MatchString(a.ServicePlan) {
			return models.Invalidf("service_plan", "Activating needs a service plan.")
		}
		if !zipPattern.MatchString(a.ZIP) {
			return models.Invalidf("zip", "Activating needs the 5-digit ZIP code of the number.")
		}
	case models.OpPlan:
		if !planPattern.MatchString(a.ServicePlan) {
			return models.Invalidf("service_plan", "Changing the plan needs the new service plan.")
		}
	case models.OpDeactivate:
		if len(a.Devices) != 1 {
			return models.Errorf(models.ErrInvalid, "Deactivate one device at a time: each needs its MDN or ICCID typed.")
		}
		if !reasonPattern.MatchString(a.ReasonCode) {
			return models.Invalidf("reason_code", "Deactivating needs a reason code (for example FF).")
		}
	}
	return nil
}

// Act does an action to each device in turn, through the department's
// shared session, and audits each with the person. Actions are not
// idempotent: a lost answer is reported as unknown with the device's
// state re-read, and never retried.
func (s *Service) Act(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string, a Action) ([]DeviceResult, error) {
	if !slices.Contains(models.Actions, a.Op) {
		return nil, models.Errorf(models.ErrInvalid, "Unknown action %q.", models.ClipMark(string(a.Op), 20))
	}
	d, _, err := s.authorize(ctx, p, meta, slug, a.Op)
	if err != nil {
		return nil, err
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	need := approvals.Need{DepartmentID: d.ID, Department: slug, Required: a.Op == models.OpDeactivate && d.Approvals.Deactivate && models.DualControlApplies(p),
		Action: models.ApproveDeactivate, Devices: a.Devices, ID: a.Approval}
	// No call upstream, not even a login, on an approval that cannot be used.
	if err := s.appr.Check(ctx, p, need); err != nil {
		return nil, err
	}
	ss, err := s.open(ctx, p, meta, d)
	if err != nil {
		return nil, err
	}
	if a.Op == models.OpDeactivate {
		if err := s.confirmDeactivate(ctx, ss, a); err != nil {
			return nil, err
		}
		if err := s.spend(ctx, p, meta, need); err != nil {
			return nil, err
		}
	}
	// An action that has begun runs to its end and is recorded, even if
	// the person's browser goes away.
	ctx = context.WithoutCancel(ctx)
	results := make([]DeviceResult, 0, len(a.Devices))
	for _, id := range a.Devices {
		r := s.actOne(ctx, ss, a, id)
		s.m.DeviceOp(string(a.Op), r.Outcome)
		e := s.event(ss, a.Op).With("device", id.Kind+":"+id.ID, "result", r.Outcome, "request_id", r.RequestID)
		if r.Outcome != Accepted {
			e.Outcome = models.OutcomeFailure
			e.With("upstream_code", r.Code)
		}
		if a.Op == models.OpPlan || a.Op == models.OpActivate {
			e.With("service_plan", a.ServicePlan)
		}
		if a.Op == models.OpDeactivate {
			e.With("reason_code", a.ReasonCode, "etf_waiver", a.ETFWaiver)
		}
		r.Request = s.recordSend(ctx, p, meta, ss, a.Op, r, e)
		results = append(results, r)
	}
	return results, nil
}

// spend consumes the approval a deactivate needs, if its department
// requires one, in a transaction of its own committed before the action
// is sent: the device.deactivate event records ThingSpace's answer, so it
// comes after the call, and an approval must never outlive a send.
func (s *Service) spend(ctx context.Context, p *models.Principal, meta models.RequestMeta, need approvals.Need) error {
	if !need.Required {
		return nil
	}
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		used, err := s.appr.Consume(ctx, tx, p, meta, need)
		if err != nil {
			return err
		}
		return s.db.Audit(ctx, tx, used)
	})
}

// actOne sends one device's action.
func (s *Service) actOne(ctx context.Context, ss *session, a Action, id models.DeviceID) DeviceResult {
	r := DeviceResult{Device: id}
	reqID, err := s.send(ctx, ss, a, id)
	switch {
	case err == nil:
		r.Outcome, r.RequestID = Accepted, reqID
		r.Message = fmt.Sprintf("ThingSpace accepted the %s (request %s).", a.Op, reqID)
	case !thingspace.OutcomeUnknown(err):
		r.Outcome, r.Code = Refused, upstream.Code(err)
		r.Message = fmt.Sprintf("ThingSpace refused the %s (%s): nothing changed.", a.Op, r.Code)
	default:
		r.Outcome, r.Code = Unknown, upstream.Code(err)
		r.Message = fmt.Sprintf("ThingSpace's answer to the %s was lost (%s): it may or may not have been applied. It is not retried; check the device's state below before trying again.", a.Op, r.Code)
		if now, lerr := s.lookup(ctx, ss, id); lerr == nil && len(now) == 1 {
			r.Now = &now[0]
		}
	}
	return r
}

// confirmDeactivate checks that the person typed the device's MDN or
// ICCID, read from ThingSpace.
func (s *Service) confirmDeactivate(ctx context.Context, ss *session, a Action) error {
	devs, err := s.lookup(ctx, ss, a.Devices[0])
	if err != nil {
		return upstreamError("Read the device", err)
	}
	if len(devs) != 1 {
		return models.Errorf(models.ErrNotFound, "ThingSpace knows no device %s in account %s.", a.Devices[0].ID, ss.dept.AccountName)
	}
	typed := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, a.Confirm)
	if typed == "" || (typed != devs[0].ID("mdn") && typed != devs[0].ID("iccid")) {
		return models.Invalidf("confirm", "To deactivate, type the device's MDN or ICCID exactly. Nothing was sent.")
	}
	return nil
}

// upstreamError is a failed read, for a person.
func upstreamError(what string, err error) error {
	kind := models.ErrUnavailable
	if thingspace.ClassOf(err) == thingspace.ClassBadRequest {
		kind = models.ErrInvalid
	}
	return &models.Error{Kind: kind, Message: fmt.Sprintf("%s: ThingSpace answered %s.", what, upstream.Code(err)), Err: err}
}
