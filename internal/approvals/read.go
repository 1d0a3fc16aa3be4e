package approvals

import (
	"context"
	"time"

	"github.com/uwsportal/uwsportal/models"
)

// listLimit bounds each list of the approvals page.
const listLimit = 200

// Lists are what the approvals page shows a person.
type Lists struct {
	// ToDecide are pending requests of others that p may decide.
	ToDecide []models.Approval
	// Mine are p's own requests, newest first.
	Mine []models.Approval
	// Decided are the decisions in the departments p decides for, the
	// latest first: the history of who approved or refused what.
	Decided []models.Approval
}

// List returns the requests p may decide and p's own.
func (s *Service) List(ctx context.Context, p *models.Principal) (Lists, error) {
	if p.Anonymous() {
		return Lists{}, models.ErrUnauthorized
	}
	var out Lists
	var err error
	if p.Can(models.PermDecideApprovals, "") {
		if out.ToDecide, err = s.db.PendingApprovals(ctx, p.Visible(models.PermDecideApprovals), p.Actor, s.now(), listLimit); err != nil {
			return out, err
		}
		if out.Decided, err = s.db.DecidedApprovals(ctx, p.Visible(models.PermDecideApprovals), listLimit); err != nil {
			return out, err
		}
	}
	out.Mine, err = s.db.ApprovalsOf(ctx, p.Actor, listLimit)
	return out, err
}

// Pending counts the requests of others that p may decide now (at most
// the length of the approvals page's list).
func (s *Service) Pending(ctx context.Context, p *models.Principal) (int, error) {
	if !p.Can(models.PermDecideApprovals, "") {
		return 0, nil
	}
	return s.db.CountPendingApprovals(ctx, p.Visible(models.PermDecideApprovals), p.Actor, s.now(), listLimit)
}

// Get returns request id to its requester and to those who may decide
// it; to anyone else it does not exist.
func (s *Service) Get(ctx context.Context, p *models.Principal, id int64) (models.Approval, error) {
	if p.Anonymous() {
		return models.Approval{}, models.ErrUnauthorized
	}
	a, ok, err := s.db.Approval(ctx, nil, id)
	if err != nil {
		return a, err
	}
	if !ok || (a.Requester != p.Actor && !p.Can(models.PermDecideApprovals, a.Department)) {
		return models.Approval{}, models.Errorf(models.ErrNotFound, "No request #%d.", id)
	}
	return a, nil
}

// CanDecide reports whether p may approve or refuse a (pending or not).
func CanDecide(p *models.Principal, a models.Approval) bool {
	return !p.Anonymous() && a.Requester != p.Actor && p.Can(models.PermDecideApprovals, a.Department)
}

// Live is p's current request for action in department slug (and those
// devices): pending or approved and not past its time. ok is false when
// there is none, so the page offers to ask.
func (s *Service) Live(ctx context.Context, p *models.Principal, deptID int64, action models.ApprovalAction, devices []models.DeviceID) (models.Approval, bool, error) {
	if p.Anonymous() {
		return models.Approval{}, false, models.ErrUnauthorized
	}
	if action != models.ApproveDeactivate {
		devices = nil
	}
	return s.db.LiveApproval(ctx, nil, deptID, action, devices, p.Actor, s.now())
}

// Now is the service's clock, for pages that show a state as of now.
func (s *Service) Now() time.Time { return s.now() }

// HasRequests reports whether p has ever asked for an approval (the
// navigation links the approvals page for them).
func (s *Service) HasRequests(ctx context.Context, p *models.Principal) (bool, error) {
	if p.Anonymous() {
		return false, nil
	}
	return s.db.HasApprovals(ctx, p.Actor)
}
