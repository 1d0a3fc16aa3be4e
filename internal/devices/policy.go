package devices

import (
	"context"
	"slices"
	"strings"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

// Policy returns dept's device policy (those who manage the department).
func (s *Service) Policy(ctx context.Context, p *models.Principal, slug string) (models.DevicePolicy, error) {
	if err := p.Require(models.PermManageDepartments, slug); err != nil {
		return nil, err
	}
	_, policy, err := s.db.DepartmentPolicy(ctx, slug)
	return policy, err
}

// Operations are what p may do with dept's devices (nil if nothing).
func (s *Service) Operations(ctx context.Context, p *models.Principal, slug string) ([]models.Operation, error) {
	_, policy, err := s.db.DepartmentPolicy(ctx, slug)
	if err != nil {
		return nil, err
	}
	return policy.DeviceOperations(p, slug), nil
}

// ParsePolicy reads "role:operation" pairs (the policy form's boxes).
func ParsePolicy(pairs []string) (models.DevicePolicy, error) {
	policy := models.DevicePolicy{}
	for _, pair := range pairs {
		role, opName, ok := strings.Cut(pair, ":")
		op, err := models.ParseOperation(opName)
		if !ok || err != nil || !slices.Contains(models.PolicyRoles, models.Role(role)) {
			return nil, models.Errorf(models.ErrInvalid, "%q is not a role and operation of the device policy.", models.ClipMark(pair, 40))
		}
		if !slices.Contains(policy[models.Role(role)], op) {
			policy[models.Role(role)] = append(policy[models.Role(role)], op)
		}
	}
	return policy, nil
}

// SetPolicy replaces dept's device policy (admins), audited with the old
// and the new.
func (s *Service) SetPolicy(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string, policy models.DevicePolicy) error {
	if err := p.Require(models.PermManageDepartments, slug); err != nil {
		return err
	}
	d, err := s.db.Department(ctx, slug)
	if err != nil {
		return err
	}
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		old, err := s.db.DevicePolicy(ctx, tx, d.ID)
		if err != nil {
			return err
		}
		if err := s.db.SetDevicePolicy(ctx, tx, d.ID, policy); err != nil {
			return err
		}
		e := models.NewEvent(models.EvDevicePolicyChanged, p, meta).With("before", policyDetail(old), "after", policyDetail(policy))
		e.Department, e.Target = slug, "department:"+slug
		return s.db.Audit(ctx, tx, e)
	})
}

func policyDetail(p models.DevicePolicy) map[string]any {
	out := map[string]any{}
	for _, role := range models.PolicyRoles {
		ops := []string{}
		for _, op := range models.Operations {
			if p.Allows(role, op) {
				ops = append(ops, string(op))
			}
		}
		out[string(role)] = ops
	}
	return out
}
