package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/models"
)

// recentRuns is how much rotation history a department page shows.
const recentRuns = 20

func credentialAAD(id int64) []byte { return secret.AAD("credential", id) }

// openCredential decrypts a credential row's password.
func (s *Service) openCredential(r *store.CredentialRow) (secret.Secret, error) {
	pt, err := s.Keyring.Open(r.KeyID, r.Ciphertext, credentialAAD(r.ID))
	if err != nil {
		return "", fmt.Errorf("decrypt credential of %s: %w", r.Slug, err)
	}
	return secret.Secret(pt), nil
}

// CreateDepartment stores a new department.
func (s *Service) CreateDepartment(ctx context.Context, p *models.Principal, meta models.RequestMeta, d models.Department) (models.Department, error) {
	if err := require(p, models.PermManageDepartments, ""); err != nil {
		return models.Department{}, err
	}
	if err := d.Validate(); err != nil {
		return models.Department{}, err
	}
	var out models.Department
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		if out, err = s.DB.CreateDepartment(ctx, tx, d); err != nil {
			return err
		}
		e := models.NewEvent(models.EvDepartmentCreated, p, meta).
			With("slug", out.Slug, "name", out.Name, "protocol", string(out.Protocol), "max_age_days", out.MaxAgeDays)
		e.Department, e.Target = out.Slug, "department:"+out.Slug
		return s.DB.Audit(ctx, tx, e)
	})
	return out, err
}

// UpdateDepartment saves a department's editable settings (by slug).
func (s *Service) UpdateDepartment(ctx context.Context, p *models.Principal, meta models.RequestMeta, d models.Department) error {
	if err := require(p, models.PermManageDepartments, d.Slug); err != nil {
		return err
	}
	if err := d.Validate(); err != nil {
		return err
	}
	old, err := s.DB.Department(ctx, d.Slug)
	if err != nil {
		return err
	}
	changes := []string{}
	for _, c := range []struct {
		name    string
		changed bool
	}{
		{"name", old.Name != d.Name}, {"protocol", old.Protocol != d.Protocol}, {"max_age_days", old.MaxAgeDays != d.MaxAgeDays},
		{"schedule_enabled", old.ScheduleEnabled != d.ScheduleEnabled}, {"reveal_allowed", old.RevealAllowed != d.RevealAllowed},
	} {
		if c.changed {
			changes = append(changes, c.name)
		}
	}
	return s.DB.WithTx(ctx, func(tx *store.Tx) error {
		if err := s.DB.UpdateDepartment(ctx, tx, d); err != nil {
			return err
		}
		e := models.NewEvent(models.EvDepartmentUpdated, p, meta).With("changes", changes)
		e.Department, e.Target = d.Slug, "department:"+d.Slug
		return s.DB.Audit(ctx, tx, e)
	})
}

// SetSchedule turns scheduled rotation on or off and sets the maximum age
// (maxAgeDays 0 keeps the current one).
func (s *Service) SetSchedule(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string, enabled bool, maxAgeDays int) error {
	if err := require(p, models.PermSetSchedule, slug); err != nil {
		return err
	}
	d, err := s.DB.Department(ctx, slug)
	if err != nil {
		return err
	}
	if maxAgeDays != 0 {
		d.MaxAgeDays = maxAgeDays
	}
	d.ScheduleEnabled = enabled
	if err := d.Validate(); err != nil {
		return err
	}
	return s.DB.WithTx(ctx, func(tx *store.Tx) error {
		if err := s.DB.UpdateDepartment(ctx, tx, d); err != nil {
			return err
		}
		e := models.NewEvent(models.EvScheduleChanged, p, meta).With("enabled", enabled, "max_age_days", d.MaxAgeDays)
		e.Department, e.Target = slug, "department:"+slug
		return s.DB.Audit(ctx, tx, e)
	})
}

// Departments lists the departments p may see.
func (s *Service) Departments(ctx context.Context, p *models.Principal) ([]models.Department, error) {
	if err := require(p, models.PermViewDepartment, ""); err != nil {
		return nil, err
	}
	return s.DB.Departments(ctx, visible(p, models.PermViewDepartment))
}

// visible is the department filter for p: nil for everything.
func visible(p *models.Principal, perm models.Permission) []string {
	if p.SeesAll(perm) {
		return nil
	}
	return append([]string{}, p.Departments(perm)...)
}

// DepartmentView returns a department, its credential's status (never the
// password) and its recent rotation runs.
func (s *Service) DepartmentView(ctx context.Context, p *models.Principal, slug string) (models.DepartmentView, error) {
	if err := require(p, models.PermViewDepartment, slug); err != nil {
		return models.DepartmentView{}, err
	}
	d, err := s.DB.Department(ctx, slug)
	if err != nil {
		return models.DepartmentView{}, err
	}
	v := models.DepartmentView{Department: d, Credential: s.status(d, nil)}
	row, err := s.DB.Credential(ctx, nil, slug, false)
	switch {
	case errors.Is(err, models.ErrNotFound):
	case err != nil:
		return models.DepartmentView{}, err
	default:
		v.Credential = s.status(d, &row)
	}
	if v.Runs, err = s.DB.Runs(ctx, d.ID, recentRuns); err != nil {
		return models.DepartmentView{}, err
	}
	return v, nil
}

// Credentials is the dashboard: every department p may see, with its
// credential's status.
func (s *Service) Credentials(ctx context.Context, p *models.Principal) ([]models.CredentialStatus, error) {
	if err := require(p, models.PermViewDashboard, ""); err != nil {
		return nil, err
	}
	slugs := visible(p, models.PermViewDashboard)
	depts, err := s.DB.Departments(ctx, slugs)
	if err != nil {
		return nil, err
	}
	rows, err := s.DB.CredentialsOf(ctx, slugs)
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
	if s.Metrics != nil {
		for _, st := range out {
			if st.HasCredential {
				s.Metrics.CredentialAge.WithLabelValues(st.Department).Set(st.Age.Seconds())
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
	now := s.Now()
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

// SetCredential enters or replaces a department's credential. The password
// must meet ThingSpace's policy; with verify, one login (and logout) proves
// it before anything is saved. Replacing a credential that needs attention
// or is quarantined is how an administrator recovers it, after setting the
// password in ThingSpace Manage: the state goes back to idle, failures to 0.
func (s *Service) SetCredential(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug, username string, password secret.Secret, verify bool) error {
	if err := require(p, models.PermManageDepartments, slug); err != nil {
		return err
	}
	if err := models.ValidateUsername(username); err != nil {
		return err
	}
	if err := models.ValidatePassword(password.Reveal(), username); err != nil {
		return err
	}
	if _, err := s.upstream(); err != nil {
		return err
	}
	d, err := s.DB.Department(ctx, slug)
	if err != nil {
		return err
	}
	old, err := s.DB.Credential(ctx, nil, slug, false)
	exists := err == nil
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	if exists && old.CredState().Rotating() {
		return models.Errorf(models.ErrConflict, "A rotation of %s is in progress; wait for it to finish.", slug)
	}
	if verify {
		if err := s.verifyNew(ctx, p, meta, d, old, exists, username, password); err != nil {
			return err
		}
	}
	err = s.DB.WithTx(ctx, func(tx *store.Tx) error {
		now := s.Now()
		if !exists {
			id, err := s.DB.NextCredentialID(ctx, tx)
			if err != nil {
				return err
			}
			keyID, ct, err := s.Keyring.Seal([]byte(password.Reveal()), credentialAAD(id))
			if err != nil {
				return err
			}
			if err := s.DB.InsertCredential(ctx, tx, store.NewCredential{ID: id, DepartmentID: d.ID, Username: username,
				Ciphertext: ct, KeyID: keyID, Verified: verify}); err != nil {
				return err
			}
			e := models.NewEvent(models.EvCredentialCreated, p, meta).With("username", username, "version", 1, "verified", verify)
			e.Department, e.Target = slug, "credential:"+slug
			return s.DB.Audit(ctx, tx, e, password.Reveal())
		}
		cur, err := s.DB.Credential(ctx, tx, slug, true)
		if err != nil {
			return err
		}
		if cur.CredState().Rotating() {
			return models.Errorf(models.ErrConflict, "A rotation of %s is in progress; wait for it to finish.", slug)
		}
		keyID, ct, err := s.Keyring.Seal([]byte(password.Reveal()), credentialAAD(cur.ID))
		if err != nil {
			return err
		}
		set := map[string]any{"username": username, "ciphertext": ct, "key_id": keyID, "version": cur.Version + 1,
			"state": string(models.StateIdle), "state_since": now, "run_id": nil, "consecutive_failures": 0, "failures_since_success": 0,
			"login_lease_until": nil, "password_changed_at": now, "last_result": "replaced", "last_upstream_code": "",
			"schedule_failures": 0, "next_attempt_at": nil}
		if verify {
			set["last_verified_at"] = now
		}
		if _, err := s.DB.UpdateCredential(ctx, tx, cur.ID, set, ""); err != nil {
			return err
		}
		// The cached session belonged to the old password (or user).
		if err := s.DB.DeleteSession(ctx, tx, cur.ID); err != nil {
			return err
		}
		e := models.NewEvent(models.EvCredentialReplaced, p, meta).With("username", username, "old_version", cur.Version,
			"new_version", cur.Version+1, "verified", verify, "previous_state", cur.State)
		e.Department, e.Target = slug, "credential:"+slug
		return s.DB.Audit(ctx, tx, e, password.Reveal())
	})
	if err == nil && exists && old.CredState() == models.StateQuarantined {
		s.refreshQuarantined(ctx)
	}
	return err
}

// verifyNew makes the one verification login of a password being entered.
func (s *Service) verifyNew(ctx context.Context, p *models.Principal, meta models.RequestMeta, d models.Department,
	old store.CredentialRow, exists bool, username string, password secret.Secret) error {
	u, err := s.upstream()
	if err != nil {
		return err
	}
	b, ok := u.traced[d.Protocol]
	if !ok {
		return models.Errorf(models.ErrUnavailable, "ThingSpace (%s) is not configured on this portal.", d.Protocol)
	}
	g := &probeGuard{s: s, key: d.Slug}
	if exists && old.Username == username {
		// Same upstream user: its failures so far count toward its lock.
		g.known, g.credID = old.FailuresSinceSuccess, old.ID
	}
	c, err := thingspace.NewClient(thingspace.ClientConfig{Backend: b, Guard: g, Logger: s.Log})
	if err != nil {
		return err
	}
	ctx, op := withOp(ctx, p, meta, PurposeTest, d.Protocol)
	err = c.TestLogin(ctx, thingspace.Credential{Key: d.Slug, Username: username, Password: password})
	for _, a := range op.unrecorded() {
		if a.err != nil {
			s.auditLogin(ctx, op, d.Slug, models.EvUpstreamLoginFailed, a.err, -1, false)
		}
	}
	switch {
	case err == nil:
		return nil
	case guardRefused(err):
		return models.Errorf(models.ErrConflict, "The portal will not try another login with %s: it has failed too often. Nothing was saved.", username)
	case thingspace.ClassOf(err) == thingspace.ClassInvalidCredentials || thingspace.ClassOf(err) == thingspace.ClassLocked:
		return &models.Error{Kind: models.ErrInvalid, Message: fmt.Sprintf("ThingSpace refused the login (%s). Nothing was saved.", upstreamCode(err)), Err: err}
	default:
		return &models.Error{Kind: models.ErrUnavailable, Message: fmt.Sprintf("The verification login did not work (%s). Nothing was saved.", upstreamCode(err)), Err: err}
	}
}

// TestResult is the outcome of a test login.
type TestResult struct {
	OK           bool
	UpstreamCode string
	Message      string
}

// TestLogin logs in with the department's credential through the lockout
// guard and logs out again.
func (s *Service) TestLogin(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string) (TestResult, error) {
	if err := require(p, models.PermTestLogin, slug); err != nil {
		return TestResult{}, err
	}
	row, err := s.credential(ctx, slug)
	if err != nil {
		return TestResult{}, err
	}
	switch {
	case row.CredState() == models.StateQuarantined:
		return TestResult{}, models.Errorf(models.ErrConflict, "The credential of %s is quarantined: %s", slug, models.QuarantineAdvice(row.Username))
	case row.CredState().Rotating():
		return TestResult{}, models.Errorf(models.ErrConflict, "A rotation of %s is in progress; test again when it has finished.", slug)
	case row.ConsecutiveFailures >= s.Upstream.Threshold() || row.FailuresSinceSuccess >= hardFailureCap:
		return TestResult{}, models.Errorf(models.ErrConflict, "The lockout guard refuses further logins with %s until an administrator fixes it.", row.Username)
	}
	c, err := s.client(models.Protocol(row.Protocol))
	if err != nil {
		return TestResult{}, err
	}
	pw, err := s.openCredential(&row)
	if err != nil {
		return TestResult{}, err
	}
	uctx, op := withOp(ctx, p, meta, PurposeTest, models.Protocol(row.Protocol))
	lerr := c.TestLogin(uctx, thingspace.Credential{Key: slug, Username: row.Username, Password: pw})
	s.settle(uctx, op, slug)
	res := TestResult{OK: lerr == nil, UpstreamCode: upstreamCode(lerr)}
	switch {
	case lerr == nil:
		res.Message = "The login worked."
	case guardRefused(lerr):
		return TestResult{}, models.Errorf(models.ErrConflict, "The lockout guard refused the login: %s has failed too often.", row.Username)
	default:
		res.Message = fmt.Sprintf("The login failed (%s).", res.UpstreamCode)
	}
	err = s.DB.WithTx(ctx, func(tx *store.Tx) error {
		if lerr == nil {
			set := map[string]any{"last_verified_at": s.Now()}
			if row.CredState() == models.StateAttention {
				// The stored password works after all: nothing to fix.
				set["state"], set["state_since"] = string(models.StateIdle), s.Now()
			}
			if _, err := s.DB.UpdateCredential(ctx, tx, row.ID, set, "version = ?", row.Version); err != nil {
				return err
			}
		}
		result := "ok"
		if lerr != nil {
			result = "failed"
		}
		e := models.NewEvent(models.EvCredentialTested, p, meta).With("result", result, "upstream_code", res.UpstreamCode)
		e.Department, e.Target = slug, "credential:"+slug
		if lerr != nil {
			e.Outcome = models.OutcomeFailure
		}
		return s.DB.Audit(ctx, tx, e, pw.Reveal())
	})
	return res, err
}

// credential reads slug's credential, telling an unknown department from a
// department without a credential.
func (s *Service) credential(ctx context.Context, slug string) (store.CredentialRow, error) {
	if _, err := s.upstream(); err != nil {
		return store.CredentialRow{}, err
	}
	row, err := s.DB.Credential(ctx, nil, slug, false)
	if errors.Is(err, models.ErrNotFound) {
		if _, derr := s.DB.Department(ctx, slug); derr != nil {
			return store.CredentialRow{}, derr
		}
	}
	return row, err
}

// Reveal returns the current password, if the department allows it, and
// audits who saw it and why.
func (s *Service) Reveal(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug, reason string) (secret.Secret, error) {
	if err := require(p, models.PermReveal, slug); err != nil {
		return "", err
	}
	reason, err := models.ValidateReason(reason)
	if err != nil {
		return "", err
	}
	row, err := s.credential(ctx, slug)
	if err != nil {
		return "", err
	}
	if !row.RevealAllowed {
		return "", models.Errorf(models.ErrForbidden, "Department %s does not allow revealing its password.", slug)
	}
	pw, err := s.openCredential(&row)
	if err != nil {
		return "", err
	}
	e := models.NewEvent(models.EvCredentialRevealed, p, meta).With("reason", reason, "version", row.Version)
	e.Department, e.Target = slug, "credential:"+slug
	// No audit row, no reveal.
	if err := s.DB.AuditAlone(ctx, e, pw.Reveal()); err != nil {
		return "", err
	}
	return pw, nil
}

// ClearQuarantine puts a quarantined (or attention) credential back to
// idle with no failures, after an administrator fixed its cause.
func (s *Service) ClearQuarantine(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string) error {
	if err := require(p, models.PermClearQuarantine, slug); err != nil {
		return err
	}
	if _, err := s.credential(ctx, slug); err != nil {
		return err
	}
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		row, err := s.DB.Credential(ctx, tx, slug, true)
		if err != nil {
			return err
		}
		if st := row.CredState(); st != models.StateQuarantined && st != models.StateAttention {
			return models.Errorf(models.ErrConflict, "The credential of %s is %s, not quarantined.", slug, st)
		}
		if row.FailuresSinceSuccess >= hardFailureCap {
			return models.Errorf(models.ErrConflict, "The portal has made %d failed logins with %s since its last successful one; one more could lock it. "+
				"Check the password in ThingSpace Manage and use Replace credential instead of clearing.", row.FailuresSinceSuccess, row.Username)
		}
		if _, err := s.DB.UpdateCredential(ctx, tx, row.ID, map[string]any{"state": string(models.StateIdle), "state_since": s.Now(),
			"consecutive_failures": 0, "login_lease_until": nil, "run_id": nil}, ""); err != nil {
			return err
		}
		e := models.NewEvent(models.EvQuarantineCleared, p, meta).With("previous_state", row.State)
		e.Department, e.Target = slug, "credential:"+slug
		return s.DB.Audit(ctx, tx, e)
	})
	if err == nil {
		s.refreshQuarantined(ctx)
	}
	return err
}

// Rekey re-encrypts every credential and cached session not sealed with
// the keyring's current key, and returns how many it re-encrypted.
func (s *Service) Rekey(ctx context.Context, p *models.Principal, meta models.RequestMeta) (int, error) {
	if err := require(p, models.PermManageDepartments, ""); err != nil {
		return 0, err
	}
	if s.Keyring == nil {
		return 0, models.Errorf(models.ErrUnavailable, "No master key is configured.")
	}
	n := 0
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		n = 0
		for _, t := range []struct {
			table string
			list  func(context.Context, *store.Tx, string) ([]store.SealedRow, error)
			aad   func(int64) []byte
		}{
			{"credentials", s.DB.SealedCredentials, credentialAAD},
			{"upstream_sessions", s.DB.SealedSessions, sessionAAD},
		} {
			rows, err := t.list(ctx, tx, s.Keyring.CurrentID())
			if err != nil {
				return err
			}
			for _, r := range rows {
				pt, err := s.Keyring.Open(r.KeyID, r.Ciphertext, t.aad(r.ID))
				if err != nil {
					return fmt.Errorf("rekey %s %d: %w", t.table, r.ID, err)
				}
				keyID, ct, err := s.Keyring.Seal(pt, t.aad(r.ID))
				clear(pt)
				if err != nil {
					return err
				}
				if err := s.DB.Reseal(ctx, tx, t.table, r.ID, ct, keyID); err != nil {
					return err
				}
				n++
			}
		}
		e := models.NewEvent(models.EvRekey, p, meta).With("rows", n, "key_id", s.Keyring.CurrentID())
		return s.DB.Audit(ctx, tx, e)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
