package departments

import (
	"context"
	"errors"
	"fmt"

	"github.com/uwsportal/uwsportal/internal/approvals"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/upstream"
	"github.com/uwsportal/uwsportal/models"
)

// TestResult is the outcome of a test login.
type TestResult struct {
	OK           bool
	UpstreamCode string
	Message      string
}

// TestLogin logs in with the department's credential through the lockout
// guard and logs out again.
func (s *Service) TestLogin(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string) (TestResult, error) {
	if err := p.Require(models.PermTestLogin, slug); err != nil {
		return TestResult{}, err
	}
	row, err := s.Credential(ctx, slug)
	if err != nil {
		return TestResult{}, err
	}
	if row.CredState().Rotating() {
		return TestResult{}, models.Errorf(models.ErrConflict, "A rotation of %s is in progress; test again when it has finished.", slug)
	}
	if err := s.up.Rule().Refusal(row.CredState(), row.ConsecutiveFailures, row.FailuresSinceSuccess, false); err != nil {
		return TestResult{}, err
	}
	pw, err := upstream.Open(s.keys, &row)
	if err != nil {
		return TestResult{}, err
	}
	who := upstream.Who{P: p, Meta: meta, Purpose: upstream.PurposeTest, Department: slug, Protocol: models.Protocol(row.Protocol)}
	// The door reads the password again under the account lock: a
	// rotation that ended since row was read has changed it.
	lerr := s.up.TestLogin(ctx, who, row.Username)
	res := TestResult{OK: lerr == nil, UpstreamCode: upstream.Code(lerr)}
	switch {
	case lerr == nil:
		res.Message = "The login worked."
	case upstream.Refused(lerr):
		var me *models.Error
		if errors.As(lerr, &me) {
			return TestResult{}, lerr
		}
		return TestResult{}, models.Errorf(models.ErrConflict, "The lockout guard refused the login: %s has failed too often.", row.Username)
	default:
		res.Message = fmt.Sprintf("The login failed (%s).", res.UpstreamCode)
	}
	// The login happened: its record must land even if the caller has gone.
	ctx = context.WithoutCancel(ctx)
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		if lerr == nil {
			if err := s.db.MarkVerified(ctx, tx, row.ID, row.Version); err != nil {
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
		return s.db.Audit(ctx, tx, e, pw.Reveal())
	})
	return res, err
}

// Credential reads slug's credential, telling an unknown department from
// a department without a credential.
func (s *Service) Credential(ctx context.Context, slug string) (store.CredentialRow, error) {
	row, err := s.db.Credential(ctx, nil, slug, false)
	if errors.Is(err, models.ErrNotFound) {
		if _, derr := s.db.Department(ctx, slug); derr != nil {
			return store.CredentialRow{}, derr
		}
	}
	return row, err
}

// Reveal returns the current password, if the department allows it, and
// audits who saw it and why. Where the department requires approval to
// reveal, approval is the person's approved request, spent in the
// transaction that records the reveal (0 where none is required).
func (s *Service) Reveal(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug, reason string, approval int64) (secret.Secret, error) {
	if err := p.Require(models.PermReveal, slug); err != nil {
		return "", err
	}
	reason, err := models.ValidateReason(reason)
	if err != nil {
		return "", err
	}
	row, err := s.Credential(ctx, slug)
	if err != nil {
		return "", err
	}
	if !row.RevealAllowed {
		return "", models.Errorf(models.ErrForbidden, "Department %s does not allow revealing its password.", slug)
	}
	pw, err := upstream.Open(s.keys, &row)
	if err != nil {
		return "", err
	}
	e := models.NewEvent(models.EvCredentialRevealed, p, meta).With("reason", reason, "version", row.Version)
	e.Department, e.Target = slug, "credential:"+slug
	// No audit row, no reveal.
	if !row.ApproveReveal {
		if err := s.db.AuditAlone(ctx, e, pw.Reveal()); err != nil {
			return "", err
		}
		return pw, nil
	}
	need := approvals.Need{DepartmentID: row.DepartmentID, Department: slug, Required: true, Action: models.ApproveReveal, ID: approval}
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		used, err := s.appr.Consume(ctx, tx, p, meta, need)
		if err != nil {
			return err
		}
		if err := s.db.Audit(ctx, tx, used); err != nil {
			return err
		}
		return s.db.Audit(ctx, tx, e, pw.Reveal())
	})
	if err != nil {
		return "", err
	}
	return pw, nil
}

// ClearQuarantine puts a quarantined (or attention) credential back to
// idle with no consecutive failures, after an administrator fixed its
// cause. The failures since the last successful login stay: no number of
// clears lets the portal make a fifth failed login.
func (s *Service) ClearQuarantine(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string) error {
	if err := p.Require(models.PermClearQuarantine, slug); err != nil {
		return err
	}
	pre, err := s.Credential(ctx, slug)
	if err != nil {
		return err
	}
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		// The account row first, then the credential's: the lockout guard
		// locks them in that order when a failure quarantines.
		if err := lockAccounts(ctx, s.db, tx, pre.Username); err != nil {
			return err
		}
		row, err := s.db.Credential(ctx, tx, slug, true)
		if err != nil {
			return err
		}
		if row.Username != pre.Username {
			return models.Errorf(models.ErrConflict, "The credential of %s was replaced meanwhile; look again.", slug)
		}
		if st := row.CredState(); st != models.StateQuarantined && st != models.StateAttention {
			return models.Errorf(models.ErrConflict, "The credential of %s is %s, not quarantined.", slug, st)
		}
		// Clearing lets automatic logins resume: the one rule decides
		// whether one more login is allowed at all.
		if refused := s.up.Rule().Refusal(models.StateIdle, 0, row.FailuresSinceSuccess, false); refused != nil {
			msg, _ := models.SafeMessage(refused)
			return models.Errorf(models.ErrConflict, "Clearing would not help: %s", msg)
		}
		if err := s.db.ClearQuarantine(ctx, tx, row.ID); err != nil {
			return err
		}
		if err := s.db.ClearAccountFailures(ctx, tx, row.Username); err != nil {
			return err
		}
		e := models.NewEvent(models.EvQuarantineCleared, p, meta).With("previous_state", row.State)
		e.Department, e.Target = slug, "credential:"+slug
		return s.db.Audit(ctx, tx, e)
	})
	if err == nil {
		s.up.RefreshQuarantined(ctx)
	}
	return err
}

// Rekey re-encrypts every credential and cached session not sealed with
// the keyring's current key, and returns how many it re-encrypted.
func (s *Service) Rekey(ctx context.Context, p *models.Principal, meta models.RequestMeta) (int, error) {
	if err := p.Require(models.PermManageDepartments, ""); err != nil {
		return 0, err
	}
	n := 0
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		n = 0
		creds, err := s.db.SealedCredentials(ctx, tx, s.keys.CurrentID())
		if err != nil {
			return err
		}
		for _, r := range creds {
			keyID, ct, err := s.reseal(r, upstream.CredentialAAD(r.ID))
			if err != nil {
				return fmt.Errorf("rekey credential %d: %w", r.ID, err)
			}
			if err := s.db.ResealCredential(ctx, tx, r.ID, ct, keyID); err != nil {
				return err
			}
		}
		sessions, err := s.db.SealedSessions(ctx, tx, s.keys.CurrentID())
		if err != nil {
			return err
		}
		for _, r := range sessions {
			keyID, ct, err := s.reseal(r, upstream.SessionAAD(r.Key))
			if err != nil {
				return fmt.Errorf("rekey session of %s: %w", r.Key, err)
			}
			if err := s.db.ResealSession(ctx, tx, r.Key, ct, keyID); err != nil {
				return err
			}
		}
		n = len(creds) + len(sessions)
		for _, r := range s.resealers {
			m, err := r.Reseal(ctx, tx)
			if err != nil {
				return err
			}
			n += m
		}
		e := models.NewEvent(models.EvRekey, p, meta).With("rows", n, "key_id", s.keys.CurrentID())
		return s.db.Audit(ctx, tx, e)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

func (s *Service) reseal(r store.SealedRow, aad []byte) (string, []byte, error) {
	pt, err := s.keys.Open(r.KeyID, r.Ciphertext, aad)
	if err != nil {
		return "", nil, err
	}
	defer clear(pt)
	return s.keys.Seal(pt, aad)
}
