package gateway

import (
	"context"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

// CreateInput is what a person gives to create an API client.
type CreateInput struct {
	Name string
	// Owner is the accountable person: the email of an existing user, or
	// "Name <email>".
	Owner      string
	Operations []models.Operation
	// Lifetime until expiry (0: 90 days; at most a year).
	Lifetime time.Duration
}

// Created is a new client with its secret, shown once.
type Created struct {
	Client models.APIClient
	Secret string // never stored, never shown again
}

// Create makes an API client for dept. A lead may create one only for
// their own department and only with operations they may do themselves.
func (s *Service) Create(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string, in CreateInput) (Created, error) {
	if err := p.Require(models.PermManageAPIClients, slug); err != nil {
		return Created{}, err
	}
	d, policy, err := s.db.DepartmentPolicy(ctx, slug)
	if err != nil {
		return Created{}, err
	}
	c, err := s.validate(ctx, &in, policy.DeviceOperations(p, slug))
	if err != nil {
		return Created{}, err
	}
	now := s.now()
	c.ID, c.Department, c.CreatedBy, c.CreatedAt, c.ExpiresAt = newClientID(), slug, p.Actor, now, now.Add(in.Lifetime)
	c.Role = models.MakerRole(p)
	secret := newSecret()
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		if err := s.db.CreateAPIClient(ctx, tx, d.ID, c, hash(secret)); err != nil {
			return err
		}
		e := models.NewEvent(models.EvAPIClientCreated, p, meta).With("client_id", c.ID, "name", c.Name, "owner", c.Owner(),
			"operations", models.OpNames(c.Operations), "role", string(c.Role), "expires_at", c.ExpiresAt.UTC().Format(time.RFC3339))
		e.Department, e.Target = slug, "api_client:"+c.ID
		return s.db.Audit(ctx, tx, e)
	})
	if err != nil {
		return Created{}, err
	}
	return Created{Client: c, Secret: secret}, nil
}

func (s *Service) validate(ctx context.Context, in *CreateInput, mine []models.Operation) (models.APIClient, error) {
	name := strings.TrimSpace(in.Name)
	if name == "" || len(name) > 100 || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return models.APIClient{}, models.Invalidf("name", "Give the client a name (at most 100 characters).")
	}
	if len(in.Operations) == 0 {
		return models.APIClient{}, models.Invalidf("operation", "Give the client at least one operation.")
	}
	ops := []models.Operation{}
	for _, op := range models.Operations {
		if !slices.Contains(in.Operations, op) {
			continue
		}
		if !slices.Contains(mine, op) {
			return models.APIClient{}, models.Errorf(models.ErrForbidden, "You may not give a client %q: the department's policy does not let you do it yourself.", op)
		}
		ops = append(ops, op)
	}
	switch {
	case in.Lifetime == 0:
		in.Lifetime = models.DefaultClientLifetime
	case in.Lifetime < time.Hour || in.Lifetime > models.MaxClientLifetime:
		return models.APIClient{}, models.Invalidf("expires", "A client expires between an hour and a year from now.")
	}
	ownerName, ownerEmail, err := s.owner(ctx, in.Owner)
	if err != nil {
		return models.APIClient{}, err
	}
	return models.APIClient{Name: name, OwnerName: ownerName, OwnerEmail: ownerEmail, Operations: ops}, nil
}

// owner reads the accountable person: a user's email, or a name and email.
func (s *Service) owner(ctx context.Context, text string) (string, string, error) {
	text = strings.TrimSpace(text)
	addr, err := mail.ParseAddress(text)
	if err != nil || len(text) > 200 || strings.IndexFunc(text, unicode.IsControl) >= 0 {
		return "", "", models.Invalidf("owner", "Give the owner as the email of a portal user, or as Name <email>.")
	}
	if addr.Name != "" {
		return addr.Name, addr.Address, nil
	}
	name, ok, err := s.db.UserNameByEmail(ctx, addr.Address)
	if err != nil {
		return "", "", err
	}
	if !ok {
		return "", "", models.Invalidf("owner", "No portal user has the email %s: give the owner as Name <email>.", models.ClipMark(addr.Address, 80))
	}
	return name, addr.Address, nil
}

// List returns dept's clients (those who manage them).
func (s *Service) List(ctx context.Context, p *models.Principal, slug string) ([]models.APIClient, error) {
	if err := p.Require(models.PermManageAPIClients, slug); err != nil {
		return nil, err
	}
	d, err := s.db.Department(ctx, slug)
	if err != nil {
		return nil, err
	}
	return s.db.APIClients(ctx, d.ID)
}

// LastUsed is when each client of the department last did anything (its
// latest audit event); a client that never did is absent.
func (s *Service) LastUsed(ctx context.Context, p *models.Principal, slug string, ids []string) (map[string]time.Time, error) {
	if err := p.Require(models.PermManageAPIClients, slug); err != nil {
		return nil, err
	}
	return s.db.ClientsLastUsed(ctx, ids)
}

// RotateSecret gives client id a new secret (returned once); the old one
// keeps working for overlap (at most 24 hours; 0: it stops at once).
func (s *Service) RotateSecret(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug, id string, overlap time.Duration) (Created, error) {
	if overlap < 0 || overlap > models.MaxSecretOverlap {
		return Created{}, models.Errorf(models.ErrInvalid, "The old secret may keep working for at most 24 hours.")
	}
	secret := newSecret()
	var out models.APIClient
	err := s.change(ctx, p, slug, id, true, func(tx *store.Tx, c store.APIClientRow) error {
		if !c.Active(s.now()) {
			// A new secret for a client that can no longer be used would
			// promise something untrue (and audit a rotation).
			return models.Errorf(models.ErrConflict, "This client is %s: it cannot be used again, so its secret is not replaced. Create a new client.", c.Status(s.now()))
		}
		var until *time.Time
		if overlap > 0 {
			t := s.now().Add(overlap)
			until = &t
		}
		if err := s.db.RotateAPIClientSecret(ctx, tx, id, hash(secret), until); err != nil {
			return err
		}
		out, out.PrevUntil = c.APIClient, until
		e := models.NewEvent(models.EvAPIClientRotated, p, meta).With("client_id", id, "overlap_seconds", int(overlap.Seconds()))
		if until != nil {
			e.With("prev_until", until.UTC().Format(time.RFC3339))
		}
		e.Department, e.Target = slug, "api_client:"+id
		return s.db.Audit(ctx, tx, e)
	})
	if err != nil {
		return Created{}, err
	}
	return Created{Client: out, Secret: secret}, nil
}

// Revoke ends client id: its tokens and handles stop at the next call.
func (s *Service) Revoke(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug, id string) error {
	return s.change(ctx, p, slug, id, false, func(tx *store.Tx, c store.APIClientRow) error {
		if c.RevokedAt != nil {
			return nil
		}
		if err := s.db.RevokeAPIClient(ctx, tx, id, p.Actor, s.now()); err != nil {
			return err
		}
		e := models.NewEvent(models.EvAPIClientRevoked, p, meta).With("client_id", id)
		e.Department, e.Target = slug, "api_client:"+id
		return s.db.Audit(ctx, tx, e)
	})
}

// change runs fn on client id of dept under its row lock, for someone who
// may manage it: with checkOps (a rotation), a lead only a client whose
// operations, as far as the policy lets it do them now, they may do
// themselves; anyone who manages the department may revoke.
func (s *Service) change(ctx context.Context, p *models.Principal, slug, id string, checkOps bool, fn func(*store.Tx, store.APIClientRow) error) error {
	if err := p.Require(models.PermManageAPIClients, slug); err != nil {
		return err
	}
	_, policy, err := s.db.DepartmentPolicy(ctx, slug)
	if err != nil {
		return err
	}
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		c, err := s.db.APIClient(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if c.Department != slug {
			return models.Errorf(models.ErrNotFound, "No API client %q in %s.", models.ClipMark(id, 40), slug)
		}
		mine := policy.DeviceOperations(p, slug)
		for _, op := range c.Effective() {
			if checkOps && !slices.Contains(mine, op) {
				return models.Errorf(models.ErrForbidden, "This client may %s, which you may not: ask an admin.", op)
			}
		}
		if err := fn(tx, c); err != nil {
			return fmt.Errorf("API client %s: %w", id, err)
		}
		return nil
	})
}
