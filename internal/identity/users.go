package identity

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

// Users lists every user with their roles and last sign-in.
func (s *Service) Users(ctx context.Context, p *models.Principal) ([]models.User, error) {
	if err := p.Require(models.PermViewUsers, ""); err != nil {
		return nil, err
	}
	return s.db.Users(ctx)
}

// MaxContacts bounds the people a form suggests: the most recent sign-ins.
const MaxContacts = 500

// Contacts lists the names and email addresses of the people who signed
// in most recently (at most MaxContacts), for a form's suggestions.
func (s *Service) Contacts(ctx context.Context, p *models.Principal) ([]models.User, error) {
	if err := p.Require(models.PermViewUsers, ""); err != nil {
		return nil, err
	}
	return s.db.Contacts(ctx, MaxContacts)
}

// SetUserDisabled disables (or enables again) a user. A disabled user's
// sessions end at their next request: every request reloads the user.
func (s *Service) SetUserDisabled(ctx context.Context, p *models.Principal, meta models.RequestMeta, id int64, disabled bool) error {
	if err := p.Require(models.PermManageUsers, ""); err != nil {
		return err
	}
	if id == p.UserID && disabled {
		return models.Errorf(models.ErrInvalid, "You cannot disable your own account.")
	}
	u, err := s.db.User(ctx, id)
	if err != nil {
		return err
	}
	code := models.EvUserEnabled
	if disabled {
		code = models.EvUserDisabled
	}
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		if err := s.db.SetUserDisabled(ctx, tx, id, disabled); err != nil {
			return err
		}
		e := models.NewEvent(code, p, meta).With("user_id", id, "name", u.Name)
		e.Target = fmt.Sprint("user:", id)
		return s.db.Audit(ctx, tx, e)
	})
}

// Me is the signed-in person's own user record (the groups the IdP sent
// at their last sign-in, for the "no access yet" page).
func (s *Service) Me(ctx context.Context, p *models.Principal) (models.User, error) {
	if p == nil || p.UserID == 0 {
		return models.User{}, models.Errorf(models.ErrUnauthorized, "Sign in first.")
	}
	return s.db.User(ctx, p.UserID)
}

// Admins lists who to ask for access.
func (s *Service) Admins(ctx context.Context) ([]models.User, error) { return s.db.Admins(ctx) }

// Mappings lists the group mappings.
func (s *Service) Mappings(ctx context.Context, p *models.Principal) ([]models.Mapping, error) {
	if err := p.Require(models.PermMapGroups, ""); err != nil {
		return nil, err
	}
	return s.db.Mappings(ctx)
}

// CreateMapping maps an IdP group to a role (and department). It takes
// effect at once: every user's grants are recomputed in the same
// transaction from the groups the IdP last gave.
func (s *Service) CreateMapping(ctx context.Context, p *models.Principal, meta models.RequestMeta, m models.Mapping) (int64, error) {
	if err := p.Require(models.PermMapGroups, ""); err != nil {
		return 0, err
	}
	m.Group, m.Department = strings.TrimSpace(m.Group), strings.TrimSpace(m.Department)
	if err := m.Validate(); err != nil {
		return 0, err
	}
	m.CreatedBy = p.Actor
	var id int64
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		if id, err = s.db.CreateMapping(ctx, tx, m); err != nil {
			return err
		}
		if err := s.db.RecomputeGrants(ctx, tx, s.adminGroups, m.Group); err != nil {
			return err
		}
		e := models.NewEvent(models.EvMappingCreated, p, meta).With("group", m.Group, "role", string(m.Role), "department", m.Department)
		e.Department, e.Target = m.Department, fmt.Sprint("mapping:", id)
		return s.db.Audit(ctx, tx, e)
	})
	return id, err
}

// DeleteMapping removes a mapping.
func (s *Service) DeleteMapping(ctx context.Context, p *models.Principal, meta models.RequestMeta, id int64) error {
	if err := p.Require(models.PermMapGroups, ""); err != nil {
		return err
	}
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		m, err := s.db.DeleteMapping(ctx, tx, id)
		if err != nil {
			return err
		}
		// In the same transaction: no moment with the mapping gone and
		// the grants it gave still in force.
		if err := s.db.RecomputeGrants(ctx, tx, s.adminGroups, m.Group); err != nil {
			return err
		}
		e := models.NewEvent(models.EvMappingDeleted, p, meta).With("group", m.Group, "role", string(m.Role), "department", m.Department)
		e.Department, e.Target = m.Department, fmt.Sprint("mapping:", id)
		return s.db.Audit(ctx, tx, e)
	})
}

// RefreshGroups applies the groups the IdP gives a signed-in person now
// (re-read every UWSPORTAL_GROUPS_REFRESH): their grants are recomputed and,
// when they changed, the change is audited. It returns the person as they
// stand now; a disabled user gets ErrUserDisabled.
func (s *Service) RefreshGroups(ctx context.Context, userID int64, groups []string, meta models.RequestMeta) (*models.Principal, error) {
	before, err := s.Principal(ctx, userID)
	if err != nil {
		return nil, err
	}
	mappings, err := s.db.Mappings(ctx)
	if err != nil {
		return nil, err
	}
	grants := models.GrantsFor(groups, mappings, s.adminGroups)
	after := *before
	after.Grants = grants
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		if err := s.db.SetGroups(ctx, tx, userID, groups, grants); err != nil {
			return err
		}
		if sameRoles(before, &after) {
			return nil
		}
		e := models.NewEvent(models.EvGroupsRefreshed, &after, meta).With("groups", groups,
			"roles_before", before.RoleNames(), "roles", after.RoleNames())
		e.Target = fmt.Sprint("user:", userID)
		return s.db.Audit(ctx, tx, e)
	})
	if err != nil {
		return nil, err
	}
	return &after, nil
}

func sameRoles(a, b *models.Principal) bool {
	x, y := a.RoleNames(), b.RoleNames()
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}
