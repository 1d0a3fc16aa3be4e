// Package departments holds the use cases of departments and their
// credentials: create and edit departments, enter or replace a credential,
// test it, reveal it, clear a quarantine, the dashboard, and rekey. Each
// use case checks the permission, does the work and writes its audit event
// in one transaction.
package departments

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/uwsportal/uwsportal/internal/approvals"
	"github.com/uwsportal/uwsportal/internal/metrics"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/upstream"
	"github.com/uwsportal/uwsportal/models"
)

// recentRuns is how much rotation history a department page shows.
const recentRuns = 20

// Deps are what Service is built from.
type Deps struct {
	DB       *store.DB
	Keys     *secret.Keyring
	Upstream *upstream.Service
	// Approvals spends a second person's approval where the department
	// requires one (reveal).
	Approvals *approvals.Service
	Log       *slog.Logger
	Metrics   *metrics.Metrics // may be nil
	Now       func() time.Time
	// Resealers re-encrypt other capabilities' secrets in rekey's
	// transaction (notification channels).
	Resealers []Resealer
}

// Resealer re-encrypts, in tx, what it holds under an older key and says
// how many rows it changed.
type Resealer interface {
	Reseal(ctx context.Context, tx *store.Tx) (int, error)
}

// Service is the departments and credentials use cases.
type Service struct {
	db        *store.DB
	keys      *secret.Keyring
	up        *upstream.Service
	appr      *approvals.Service
	log       *slog.Logger
	metrics   *metrics.Metrics
	now       func() time.Time
	resealers []Resealer
}

// New builds the service.
func New(d Deps) *Service {
	return &Service{db: d.DB, keys: d.Keys, up: d.Upstream, appr: d.Approvals, log: d.Log, metrics: d.Metrics, now: d.Now,
		resealers: d.Resealers}
}

// CreateDepartment stores a new department.
func (s *Service) CreateDepartment(ctx context.Context, p *models.Principal, meta models.RequestMeta, d models.Department) (models.Department, error) {
	if err := p.Require(models.PermManageDepartments, ""); err != nil {
		return models.Department{}, err
	}
	if err := d.Validate(); err != nil {
		return models.Department{}, err
	}
	var out models.Department
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		if out, err = s.db.CreateDepartment(ctx, tx, d); err != nil {
			return err
		}
		e := models.NewEvent(models.EvDepartmentCreated, p, meta).
			With("slug", out.Slug, "name", out.Name, "protocol", string(out.Protocol), "max_age_days", out.MaxAgeDays, "account_name", out.AccountName)
		e.Department, e.Target = out.Slug, "department:"+out.Slug
		return s.db.Audit(ctx, tx, e)
	})
	return out, err
}

// UpdateSettings saves the fields of the settings form (name, protocol,
// reveal, account, which actions need approval). It writes only those, so
// a schedule saved at the same moment is not undone.
func (s *Service) UpdateSettings(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string, set models.DepartmentSettings) error {
	if err := p.Require(models.PermManageDepartments, slug); err != nil {
		return err
	}
	cur, err := s.db.Department(ctx, slug)
	if err != nil {
		return err
	}
	cur.Name, cur.Protocol, cur.RevealAllowed, cur.AccountName = set.Name, set.Protocol, set.RevealAllowed, set.AccountName
	if err := cur.Validate(); err != nil {
		return err
	}
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		old, err := s.db.UpdateDepartmentSettings(ctx, tx, slug, set)
		if err != nil {
			return err
		}
		changes := []string{}
		for _, c := range []struct {
			name    string
			changed bool
		}{
			{"name", old.Name != set.Name}, {"protocol", old.Protocol != set.Protocol}, {"reveal_allowed", old.RevealAllowed != set.RevealAllowed},
			{"account_name", old.AccountName != set.AccountName},
		} {
			if c.changed {
				changes = append(changes, c.name)
			}
		}
		changes = append(changes, approvalChanges(old.Approvals, set.Approvals)...)
		e := models.NewEvent(models.EvDepartmentUpdated, p, meta).With("changes", changes)
		if old.AccountName != set.AccountName {
			e.With("account_name", set.AccountName)
		}
		e.Department, e.Target = slug, "department:"+slug
		return s.db.Audit(ctx, tx, e)
	})
}

// SetSchedule turns scheduled rotation on or off and sets the maximum age
// (maxAgeDays 0 keeps the current one).
func (s *Service) SetSchedule(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string, enabled bool, maxAgeDays int) error {
	return s.SetScheduleApproved(ctx, p, meta, slug, enabled, maxAgeDays, 0)
}

// SetScheduleApproved is SetSchedule offering approval: where the
// department wants a second person's approval to rotate now, a change
// that makes a rotation due sooner (turning the schedule on, or a lower
// maximum age) spends an approved rotate request as rotating now does;
// otherwise a lead could set the maximum age to a day and let the
// scheduler rotate without anyone's approval. Scheduled rotations under
// a schedule set so stay approval-free.
func (s *Service) SetScheduleApproved(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string, enabled bool, maxAgeDays int, approval int64) error {
	if err := p.Require(models.PermSetSchedule, slug); err != nil {
		return err
	}
	d, err := s.db.Department(ctx, slug)
	if err != nil {
		return err
	}
	old := d
	if maxAgeDays != 0 {
		d.MaxAgeDays = maxAgeDays
	}
	if err := d.Validate(); err != nil {
		return err
	}
	sooner := enabled && (!old.ScheduleEnabled || d.MaxAgeDays < old.MaxAgeDays)
	need := approvals.Need{DepartmentID: d.ID, Department: slug, Required: sooner && d.Approvals.Rotate && models.DualControlApplies(p),
		Action: models.ApproveRotate, ID: approval}
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		used, err := s.appr.Consume(ctx, tx, p, meta, need)
		if err != nil {
			return err
		}
		after, err := s.db.SetDepartmentSchedule(ctx, tx, slug, enabled, maxAgeDays)
		if err != nil {
			return err
		}
		if used != nil {
			if err := s.db.Audit(ctx, tx, used); err != nil {
				return err
			}
		}
		e := models.NewEvent(models.EvScheduleChanged, p, meta).With("enabled", enabled, "max_age_days", after.MaxAgeDays)
		e.Department, e.Target = slug, "department:"+slug
		return s.db.Audit(ctx, tx, e)
	})
}

// Departments lists the departments p may see.
func (s *Service) Departments(ctx context.Context, p *models.Principal) ([]models.Department, error) {
	if err := p.Require(models.PermViewDepartment, ""); err != nil {
		return nil, err
	}
	return s.db.Departments(ctx, p.Visible(models.PermViewDepartment))
}

// DepartmentView returns a department, its credential's status (never the
// password) and its recent rotation runs.
func (s *Service) DepartmentView(ctx context.Context, p *models.Principal, slug string) (models.DepartmentView, error) {
	if err := p.Require(models.PermViewDepartment, slug); err != nil {
		return models.DepartmentView{}, err
	}
	d, err := s.db.Department(ctx, slug)
	if err != nil {
		return models.DepartmentView{}, err
	}
	v := models.DepartmentView{Department: d, Credential: s.status(d, nil)}
	row, err := s.db.Credential(ctx, nil, slug, false)
	switch {
	case errors.Is(err, models.ErrNotFound):
	case err != nil:
		return models.DepartmentView{}, err
	default:
		v.Credential = s.status(d, &row)
	}
	if v.Runs, err = s.db.Runs(ctx, d.ID, recentRuns); err != nil {
		return models.DepartmentView{}, err
	}
	return v, nil
}

// Credentials is the dashboard: every department p may see, with its
// credential's status.
func (s *Service) Credentials(ctx context.Context, p *models.Principal) ([]models.CredentialStatus, error) {
	if err := p.Require(models.PermViewDashboard, ""); err != nil {
		return nil, err
	}
	slugs := p.Visible(models.PermViewDashboard)
	depts, err := s.db.Departments(ctx, slugs)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.CredentialsOf(ctx, slugs)
	if err != nil {
		return nil, err
	}
	byDept := make(map[int64]*store.CredentialRow, len(rows))
	for i := range rows {
		byDept[rows[i].DepartmentID] = &rows[i]
	}
	out := make([]models.CredentialStatus, 0, len(depts))
	for _, d := range depts {
		out = append(out, s.status(d, byDept[d.ID]))
	}
	if s.metrics != nil {
		for _, st := range out {
			if st.HasCredential {
				s.metrics.CredentialAge.WithLabelValues(st.Department).Set(st.Age.Seconds())
			}
		}
	}
	return out, nil
}

func (s *Service) status(d models.Department, r *store.CredentialRow) models.CredentialStatus {
	st := models.CredentialStatus{Department: d.Slug, DepartmentName: d.Name, Protocol: d.Protocol, Status: models.StatusNone,
		ScheduleEnabled: d.ScheduleEnabled, MaxAgeDays: d.MaxAgeDays, RevealAllowed: d.RevealAllowed}
	if r == nil {
		return st
	}
	now := s.now()
	changed := r.PasswordChangedAt
	due := changed.Add(time.Duration(d.MaxAgeDays) * 24 * time.Hour)
	st.HasCredential, st.Username, st.State, st.Version = true, r.Username, r.CredState(), r.Version
	st.ConsecutiveFailures = r.ConsecutiveFailures
	st.PasswordChangedAt, st.NextDue, st.Age = &changed, &due, max(now.Sub(changed), 0)
	st.LastRotatedAt, st.LastVerifiedAt = r.LastRotatedAt, r.LastVerifiedAt
	st.LastResult, st.LastUpstreamCode = r.LastResult, r.LastUpstreamCode
	st.Status = models.StatusBucket(r.CredState(), changed, d.MaxAgeDays, now)
	switch r.CredState() {
	case models.StateAttention, models.StateUnknown:
		st.Advice = models.AttentionAdvice(r.Username)
	case models.StateQuarantined:
		st.Advice = models.QuarantineAdvice(r.Username)
	}
	return st
}

// SetApprovals sets which actions of department slug need a second
// person's approval (admins), audited as a change of its settings.
func (s *Service) SetApprovals(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string, rules models.ApprovalRules) error {
	if err := p.Require(models.PermManageDepartments, slug); err != nil {
		return err
	}
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		old, err := s.db.SetDepartmentApprovals(ctx, tx, slug, rules)
		if err != nil {
			return err
		}
		e := models.NewEvent(models.EvDepartmentUpdated, p, meta).With("changes", approvalChanges(old, rules))
		e.Department, e.Target = slug, "department:"+slug
		return s.db.Audit(ctx, tx, e)
	})
}

// approvalChanges names the dual-control settings that differ, as the
// department.updated event lists them (approve_reveal, …).
func approvalChanges(old, now models.ApprovalRules) []string {
	changes := []string{}
	for _, a := range models.ApprovalActions {
		if old.Requires(a) != now.Requires(a) {
			changes = append(changes, "approve_"+string(a))
		}
	}
	return changes
}

// SetAccount sets the department's ThingSpace account name (admins).
func (s *Service) SetAccount(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug, account string) error {
	if err := p.Require(models.PermManageDepartments, slug); err != nil {
		return err
	}
	if err := models.ValidAccountName(account); err != nil {
		return err
	}
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		old, err := s.db.SetDepartmentAccount(ctx, tx, slug, account)
		if err != nil {
			return err
		}
		changes := []string{}
		if old != account {
			changes = append(changes, "account_name")
		}
		e := models.NewEvent(models.EvDepartmentUpdated, p, meta).With("changes", changes, "account_name", account)
		e.Department, e.Target = slug, "department:"+slug
		return s.db.Audit(ctx, tx, e)
	})
}
