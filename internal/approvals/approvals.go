// Package approvals is dual control: a department may require a second
// person's approval before someone reveals its password, deactivates a
// device or rotates now. A person who may do the action asks, with a
// reason; an admin or a lead of the department other than the requester
// approves or refuses; the requester alone then does the action once,
// within the window. The use cases that do the actions spend the approval
// through Consume, inside the transaction that records the action.
package approvals

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

// Deps are what Service is built from.
type Deps struct {
	DB  *store.DB
	Log *slog.Logger
	Now func() time.Time
	// Window is how long an approval stays valid once granted
	// (UWSPORTAL_APPROVAL_WINDOW; zero: models.DefaultApprovalWindow).
	Window time.Duration
}

// Service is the dual-control use cases.
type Service struct {
	db     *store.DB
	log    *slog.Logger
	now    func() time.Time
	window time.Duration
}

// New builds the service.
func New(d Deps) *Service {
	if d.Window <= 0 {
		d.Window = models.DefaultApprovalWindow
	}
	return &Service{db: d.DB, log: d.Log, now: d.Now, window: d.Window}
}

// Window is how long an approval stays valid once granted.
func (s *Service) Window() time.Duration { return s.window }

// Ask is a request for approval.
type Ask struct {
	Department string
	Action     models.ApprovalAction
	// Devices are the exact devices of a deactivate (one, as deactivate
	// takes one at a time); ignored for the other actions.
	Devices []models.DeviceID
	Reason  string
}

// Request records p's request for a second person's approval. Only a
// person who may do the action asks, and only where the department
// requires approval for it.
func (s *Service) Request(ctx context.Context, p *models.Principal, meta models.RequestMeta, ask Ask) (models.Approval, error) {
	if p.Anonymous() {
		return models.Approval{}, models.ErrUnauthorized
	}
	d, policy, err := s.db.DepartmentPolicy(ctx, ask.Department)
	if err != nil {
		return models.Approval{}, err
	}
	if err := mayDo(p, d, policy, ask.Action); err != nil {
		return models.Approval{}, err
	}
	if !d.Approvals.Requires(ask.Action) {
		return models.Approval{}, models.Errorf(models.ErrConflict, "Department %s does not require approval to %s: go ahead without one.", d.Slug, ask.Action)
	}
	reason, err := models.ValidateReason(ask.Reason)
	if err != nil {
		return models.Approval{}, err
	}
	var devices []models.DeviceID
	if ask.Action == models.ApproveDeactivate {
		if devices = models.ParseCanonicalDevices(models.CanonicalDevices(ask.Devices)); len(devices) != 1 {
			return models.Approval{}, models.Errorf(models.ErrInvalid, "Ask to deactivate one device at a time: each approval names its device.")
		}
	}
	now := s.now()
	a := models.Approval{DepartmentID: d.ID, Department: d.Slug, DepartmentName: d.Name, Action: ask.Action, Devices: devices,
		Requester: p.Actor, RequesterName: p.Name, Reason: reason, RequestedAt: now, ExpiresAt: now.Add(models.ApprovalPendingTTL)}
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		if live, ok, err := s.db.LiveApproval(ctx, tx, d.ID, ask.Action, devices, p.Actor, now); err != nil {
			return err
		} else if ok {
			return models.Errorf(models.ErrConflict, "You already have request #%d for this (%s): see /approvals/%d.", live.ID, live.StateAt(now), live.ID)
		}
		if a, err = s.db.CreateApproval(ctx, tx, a); err != nil {
			return err
		}
		return s.db.Audit(ctx, tx, event(models.EvApprovalRequested, p, meta, a).With("reason", reason, "expires_at", stamp(a.ExpiresAt)))
	})
	return a, err
}

// mayDo says why p may not do action in department d, if they may not:
// asking needs the action's own permission.
func mayDo(p *models.Principal, d models.Department, policy models.DevicePolicy, action models.ApprovalAction) error {
	switch action {
	case models.ApproveReveal:
		if err := p.Require(models.PermReveal, d.Slug); err != nil {
			return err
		}
		if !d.RevealAllowed {
			return models.Errorf(models.ErrForbidden, "Department %s does not allow revealing its password.", d.Slug)
		}
		return nil
	case models.ApproveRotate:
		return p.Require(models.PermRotate, d.Slug)
	case models.ApproveDeactivate:
		if err := p.Require(models.PermUseDevices, d.Slug); err != nil {
			return err
		}
		if !policy.Permits(p, d.Slug, models.OpDeactivate) {
			return models.Errorf(models.ErrForbidden, "The device policy of %s does not let you deactivate devices.", d.Slug)
		}
		return nil
	}
	_, err := models.ParseApprovalAction(string(action))
	return err
}

// Decide approves or refuses request id. Approvers are admins and leads
// of the request's department, never the requester.
func (s *Service) Decide(ctx context.Context, p *models.Principal, meta models.RequestMeta, id int64, approve bool, note string) (models.Approval, error) {
	if p.Anonymous() {
		return models.Approval{}, models.ErrUnauthorized
	}
	a, ok, err := s.db.Approval(ctx, nil, id)
	if err != nil {
		return a, err
	}
	if !ok {
		return models.Approval{}, models.Errorf(models.ErrNotFound, "No request #%d.", id)
	}
	if !p.Can(models.PermDecideApprovals, a.Department) {
		return models.Approval{}, models.Errorf(models.ErrForbidden, "Only admins and leads of %s approve or refuse its requests.", a.Department)
	}
	if a.Requester == p.Actor {
		return models.Approval{}, models.Errorf(models.ErrForbidden, "Nobody approves or refuses their own request, admins included: another admin or lead of %s must decide it.", a.Department)
	}
	if note, err = models.ValidateNote(note); err != nil {
		return models.Approval{}, err
	}
	now := s.now()
	dec := store.Decision{ID: id, Approve: approve, Decider: p.Actor, Name: p.Name, Note: note, Now: now, Until: now.Add(s.window)}
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		var ok bool
		if a, ok, err = s.db.DecideApproval(ctx, tx, dec); err != nil {
			return err
		}
		if !ok {
			cur, _, err := s.db.Approval(ctx, tx, id)
			if err != nil {
				return err
			}
			return models.Errorf(models.ErrConflict, "Request #%d is %s: only a pending request can be decided.", id, cur.StateAt(now))
		}
		code := models.EvApprovalRefused
		e := event(code, p, meta, a).With("note", note)
		if approve {
			e.Code = models.EvApprovalApproved
			e.With("expires_at", stamp(a.ExpiresAt))
		}
		return s.db.Audit(ctx, tx, e)
	})
	return a, err
}

// event is an approval's audit event: its department, target and the
// details every approval event carries.
func event(code string, p *models.Principal, meta models.RequestMeta, a models.Approval) *models.AuditEvent {
	e := models.NewEvent(code, p, meta).With("approval_id", a.ID, "action", string(a.Action),
		"requester", a.Requester, "requester_name", a.RequesterName)
	if a.Action == models.ApproveDeactivate {
		e.With("devices", models.DeviceKeys(a.Devices))
	}
	e.Department, e.Target = a.Department, "approval:"+strconv.FormatInt(a.ID, 10)
	return e
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
