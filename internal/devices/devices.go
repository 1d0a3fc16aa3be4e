// Package devices is where people operate their department's devices
// through the portal, never holding the UWS password: the department's
// policy says which role may do which operation, every operation is
// audited with the person, and the credential's session is shared by
// everyone (one upstream login until ThingSpace says it expired).
package devices

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/uwsportal/uwsportal/internal/approvals"
	"github.com/uwsportal/uwsportal/internal/departments"
	"github.com/uwsportal/uwsportal/internal/metrics"
	"github.com/uwsportal/uwsportal/internal/requests"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/internal/upstream"
	"github.com/uwsportal/uwsportal/models"
)

// Deps are what Service is built from.
type Deps struct {
	DB          *store.DB
	Upstream    *upstream.Service
	Departments *departments.Service
	// Approvals spends a second person's approval where the department
	// requires one to deactivate.
	Approvals *approvals.Service
	Log       *slog.Logger
	Metrics   *metrics.Metrics // may be nil
	Now       func() time.Time

	// Requests follows each action sent to its end.
	Requests *requests.Service
}

// Service is the devices use cases.
type Service struct {
	db    *store.DB
	up    *upstream.Service
	depts *departments.Service
	appr  *approvals.Service
	log   *slog.Logger
	m     *metrics.Metrics
	now   func() time.Time

	reqs *requests.Service
}

// New builds the service.
func New(d Deps) *Service {
	return &Service{db: d.DB, up: d.Upstream, depts: d.Departments, appr: d.Approvals, log: d.Log, m: d.Metrics, now: d.Now,
		reqs: d.Requests}
}

// session is what one operation needs upstream: the department, its
// credential, the client and who acts.
type session struct {
	dept   models.Department
	row    store.CredentialRow
	client *thingspace.Client
	cred   thingspace.Credential
	who    upstream.Who
}

// Authorize checks that p may do op on dept's devices under its policy,
// and audits a refusal (pages call it before showing a confirmation).
func (s *Service) Authorize(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string, op models.Operation) error {
	_, _, err := s.authorize(ctx, p, meta, slug, op)
	return err
}

func (s *Service) authorize(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string, op models.Operation) (models.Department, models.DevicePolicy, error) {
	if p.Anonymous() {
		return models.Department{}, nil, models.ErrUnauthorized
	}
	d, policy, err := s.db.DepartmentPolicy(ctx, slug)
	if err != nil {
		return d, nil, err
	}
	return d, policy, s.permit(ctx, p, meta, slug, op, policy)
}

// permit checks policy for p doing op on slug's devices, and audits a
// refusal.
func (s *Service) permit(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string, op models.Operation, policy models.DevicePolicy) error {
	if !policy.Permits(p, slug, op) {
		e := models.NewEvent(models.EvAccessDenied, p, meta).With("operation", string(op), "permission", "devices."+string(op))
		e.Outcome, e.Department, e.Target = models.OutcomeDenied, slug, "devices:"+slug
		if aerr := s.db.AuditAlone(context.WithoutCancel(ctx), e); aerr != nil {
			s.log.Error("audit", "code", e.Code, "err", aerr)
		}
		return models.Errorf(models.ErrForbidden, "The device policy of %s does not let you %s devices.", slug, op)
	}
	return nil
}

// open readies the credential's shared session for dept, logging in
// (through the lockout guard, once for every instance) only if none is
// cached. A credential that is not usable is refused before any call.
func (s *Service) open(ctx context.Context, p *models.Principal, meta models.RequestMeta, d models.Department) (*session, error) {
	if d.AccountName == "" {
		return nil, models.Errorf(models.ErrConflict, "Department %s has no ThingSpace account name yet: an admin sets it on the department's settings.", d.Slug)
	}
	row, err := s.depts.Credential(ctx, d.Slug)
	if errors.Is(err, models.ErrNotFound) {
		return nil, models.Errorf(models.ErrConflict, "Department %s has no UWS credential yet.", d.Slug)
	}
	if err != nil {
		return nil, err
	}
	return s.openWith(ctx, p, meta, d, &row)
}

// openWith is open with the credential already read (nil: none yet).
func (s *Service) openWith(ctx context.Context, p *models.Principal, meta models.RequestMeta, d models.Department, cred *store.CredentialRow) (*session, error) {
	if d.AccountName == "" {
		return nil, models.Errorf(models.ErrConflict, "Department %s has no ThingSpace account name yet: an admin sets it on the department's settings.", d.Slug)
	}
	if cred == nil {
		return nil, models.Errorf(models.ErrConflict, "Department %s has no UWS credential yet.", d.Slug)
	}
	row := *cred
	switch st := row.CredState(); st {
	case models.StateQuarantined:
		return nil, models.Errorf(models.ErrConflict, "The credential of %s is quarantined, so the portal will not use it: %s", d.Slug, models.QuarantineAdvice(row.Username))
	case models.StateAttention, models.StateUnknown:
		return nil, models.Errorf(models.ErrConflict, "The credential of %s needs an administrator, so the portal will not use it: %s", d.Slug, models.AttentionAdvice(row.Username))
	}
	c, err := s.up.Client(models.Protocol(row.Protocol))
	if err != nil {
		return nil, err
	}
	if models.Protocol(row.Protocol) != models.ProtocolREST {
		return nil, models.Errorf(models.ErrConflict, "Device operations need the REST protocol; %s uses legacy SOAP.", d.Slug)
	}
	who := upstream.Who{P: p, Meta: meta, Purpose: upstream.PurposeUse, Department: d.Slug, Protocol: models.Protocol(row.Protocol)}
	if err := s.up.EnsureSession(ctx, who, row.Username); err != nil {
		return nil, loginRefusal(d.Slug, err)
	}
	return &session{dept: d, row: row, client: c, cred: upstream.Credential(row.Username), who: who}, nil
}

// ctx attributes the logins the client may make (an expired session).
func (ss *session) ctx(ctx context.Context) context.Context { return upstream.WithWho(ctx, ss.who) }

func loginRefusal(slug string, err error) error {
	var me *models.Error
	if errors.As(err, &me) {
		return err
	}
	if upstream.Refused(err) {
		return models.Errorf(models.ErrConflict, "The lockout guard refuses to log in with the credential of %s; nothing was sent.", slug)
	}
	return &models.Error{Kind: models.ErrUnavailable, Message: fmt.Sprintf("Logging in to ThingSpace did not work (%s); nothing was sent.", upstream.Code(err)), Err: err}
}
