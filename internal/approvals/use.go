package approvals

import (
	"context"
	"strings"
	"time"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

// Need is an action about to be done that its department may put under
// dual control, as the use case doing it knows it.
type Need struct {
	DepartmentID int64
	Department   string // slug
	// Required is the department's setting for Action, read by the caller
	// with the rest of what it needs.
	Required bool
	Action   models.ApprovalAction
	Devices  []models.DeviceID // deactivate
	// ID is the approval the person offers (0: none).
	ID int64
}

// Consume spends approval n.ID for p's action, in tx: the one
// conditional UPDATE that lets an approval be used once, by its
// requester, for that action (and those devices), within its window. It
// returns the approval.used event for the caller to append last in tx
// with the action's own event, or nil when the department does not
// require approval. On error nothing changed and the caller does nothing.
func (s *Service) Consume(ctx context.Context, tx *store.Tx, p *models.Principal, meta models.RequestMeta, n Need) (*models.AuditEvent, error) {
	if !n.Required {
		return nil, nil
	}
	if err := s.precheck(p, n); err != nil {
		return nil, err
	}
	now := s.now()
	a, ok, err := s.db.UseApproval(ctx, tx, store.Use{ID: n.ID, DepartmentID: n.DepartmentID, Action: n.Action, Devices: n.Devices, Requester: p.Actor, Now: now})
	if err != nil {
		return nil, err
	}
	if !ok {
		cur, found, err := s.db.Approval(ctx, tx, n.ID)
		if err != nil {
			return nil, err
		}
		if err := problem(cur, found, p, n, now); err != nil {
			return nil, err
		}
		return nil, models.Errorf(models.ErrConflict, "Approval #%d changed while it was being used; nothing was done. Try again.", n.ID)
	}
	return event(models.EvApprovalUsed, p, meta, a).With("approver", a.DecidedBy, "approver_name", a.DeciderName), nil
}

// Check says, without changing anything, why p could not spend approval
// n.ID now (nil: they could). Use cases that must call ThingSpace before
// the action (deactivate reads the device first) check before any call
// and Consume just before the action.
func (s *Service) Check(ctx context.Context, p *models.Principal, n Need) error {
	if !n.Required {
		return nil
	}
	if err := s.precheck(p, n); err != nil {
		return err
	}
	a, found, err := s.db.Approval(ctx, nil, n.ID)
	if err != nil {
		return err
	}
	return problem(a, found, p, n, s.now())
}

func (s *Service) precheck(p *models.Principal, n Need) error {
	if p.Anonymous() {
		return models.ErrUnauthorized
	}
	if n.ID == 0 {
		return models.Errorf(models.ErrForbidden, "Department %s requires a second person's approval to %s: ask for it first (Request approval), then come back once an admin or lead has approved.", n.Department, n.Action)
	}
	return nil
}

// problem says why approval a (found: it exists) cannot be spent by p
// for n at now, or nil if it can.
func problem(a models.Approval, found bool, p *models.Principal, n Need, now time.Time) error {
	switch {
	case !found || a.Requester != p.Actor:
		return models.Errorf(models.ErrForbidden, "Approval #%d is not yours: only the person who asked may use it. Nothing was done.", n.ID)
	case a.DepartmentID != n.DepartmentID || a.Action != n.Action:
		return models.Errorf(models.ErrForbidden, "Approval #%d is for %s in %s, not for %s in %s. Nothing was done.", n.ID, a.Action, a.Department, n.Action, n.Department)
	case models.CanonicalDevices(a.Devices) != models.CanonicalDevices(n.Devices):
		return models.Errorf(models.ErrForbidden, "Approval #%d is for %s, not for %s. Nothing was done.", n.ID, a.DeviceList(), models.ClipMark(strings.Join(models.DeviceKeys(n.Devices), ", "), 200))
	}
	switch a.StateAt(now) {
	case models.ApprovalPending:
		return models.Errorf(models.ErrConflict, "Request #%d is still waiting for a decision. Nothing was done.", n.ID)
	case models.ApprovalRefused:
		return models.Errorf(models.ErrConflict, "Request #%d was refused by %s. Nothing was done.", n.ID, a.DeciderName)
	case models.ApprovalExpired:
		return models.Errorf(models.ErrConflict, "Approval #%d has expired (%s). Nothing was done: ask again.", n.ID, stamp(a.ExpiresAt))
	case models.ApprovalUsed:
		return models.Errorf(models.ErrConflict, "Approval #%d has already been used: an approval is good for one action. Nothing was done.", n.ID)
	}
	return nil
}
