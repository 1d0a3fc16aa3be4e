package departments

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/internal/upstream"
	"github.com/uwsportal/uwsportal/models"
)

// CredentialInput is a credential an administrator enters or replaces.
type CredentialInput struct {
	Department string
	Username   string
	Password   secret.Secret
	// Verify makes one login (and logout) with it before anything is saved.
	Verify bool
	// CountReset states that Verizon reset the username's failed-login count
	// (an unlock, or a password set in ThingSpace Manage). It needs Verify:
	// it lets that one verification login pass the portal's hard cap, with
	// at most the attempts ThingSpace's own count allows since the first
	// such statement (repeating it buys nothing), and it is audited in the
	// transaction that saves the verified entry, never before.
	CountReset bool
	// CountResetMark is Username's failures mark (FailuresMark) read when
	// the administrator opened the form or started the command, before
	// calling Verizon: the statement covers the failed logins recorded
	// since, so that one landing after Verizon's reset but before the
	// submission still counts toward ThingSpace's lock. nil: it covers
	// the failures from the verification login on.
	CountResetMark *int64
}

// FailuresMark is username's failures mark for a statement that Verizon
// reset its count (CredentialInput.CountResetMark), for an administrator
// of slug about to enter its credential.
func (s *Service) FailuresMark(ctx context.Context, p *models.Principal, slug, username string) (int64, error) {
	if err := p.Require(models.PermManageDepartments, slug); err != nil {
		return 0, err
	}
	return s.db.FailuresMark(ctx, username)
}

// MarkFor is mark if it was read for username (usernames compare as
// ThingSpace counts them, case-insensitively), else nil: a form opened
// for one username and submitted for another has no mark for it.
func MarkFor(markUser string, mark int64, username string) *int64 {
	if markUser == "" || store.AccountKey(markUser) != store.AccountKey(username) {
		return nil
	}
	return &mark
}

// SetCredential enters or replaces a department's credential. The password
// must meet ThingSpace's policy; with Verify, one login through the
// lockout guard proves it before anything is saved. Replacing a credential
// that needs attention or is quarantined is how an administrator recovers
// it after setting the password in ThingSpace Manage: the state goes back
// to idle and the quarantine count to 0, but the failures since the last
// successful login stay (ThingSpace keeps counting them), unless
// CountReset says Verizon reset them.
func (s *Service) SetCredential(ctx context.Context, p *models.Principal, meta models.RequestMeta, in CredentialInput) error {
	slug := in.Department
	if err := p.Require(models.PermManageDepartments, slug); err != nil {
		return err
	}
	if err := models.ValidateUsername(in.Username); err != nil {
		return err
	}
	if err := models.ValidatePassword(in.Password.Reveal(), in.Username); err != nil {
		return err
	}
	d, err := s.db.Department(ctx, slug)
	if err != nil {
		return err
	}
	if holder, err := s.db.CredentialHolding(ctx, in.Username); err != nil {
		return err
	} else if holder != "" && holder != slug {
		return &models.Error{Kind: models.ErrConflict, Field: "username", Message: fmt.Sprintf("The username %s is already the credential of department %s. "+
			"ThingSpace counts failed logins per username, so one username belongs to one department: use that department, or another username.",
			models.ClipMark(in.Username, 64), holder)}
	}
	old, err := s.db.Credential(ctx, nil, slug, false)
	exists := err == nil
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	if exists && old.CredState().Rotating() {
		return models.Errorf(models.ErrConflict, "A rotation of %s is in progress; wait for it to finish.", slug)
	}
	if in.CountReset && !in.Verify {
		return models.Errorf(models.ErrInvalid, "Stating that Verizon reset the failed-login count needs a verification login: tick Verify (or pass --verify). Nothing was saved.")
	}
	if in.Verify {
		if err := s.verifyNew(ctx, p, meta, d, in); err != nil {
			return err
		}
	}
	wasQuarantined := exists && old.CredState() == models.StateQuarantined
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		// The account rows first, then the credential's: the lockout guard
		// locks them in that order when a failure quarantines.
		users := []string{in.Username}
		if exists {
			users = append(users, old.Username)
		}
		if err := lockAccounts(ctx, s.db, tx, users...); err != nil {
			return err
		}
		if in.CountReset {
			if err := s.auditCountReset(ctx, tx, p, meta, slug, in.Username); err != nil {
				return err
			}
		}
		if !exists {
			return s.insertCredential(ctx, tx, p, meta, d, in)
		}
		return s.replaceCredential(ctx, tx, p, meta, slug, in)
	})
	if err == nil && wasQuarantined {
		s.up.RefreshQuarantined(ctx)
	}
	return err
}

func (s *Service) insertCredential(ctx context.Context, tx *store.Tx, p *models.Principal, meta models.RequestMeta, d models.Department, in CredentialInput) error {
	id, err := s.db.NextCredentialID(ctx, tx)
	if err != nil {
		return err
	}
	keyID, ct, err := upstream.Seal(s.keys, id, in.Password)
	if err != nil {
		return err
	}
	if err := s.db.InsertCredential(ctx, tx, store.NewCredential{ID: id, DepartmentID: d.ID, Username: in.Username,
		Ciphertext: ct, KeyID: keyID, Verified: in.Verify}); err != nil {
		return err
	}
	e := models.NewEvent(models.EvCredentialCreated, p, meta).With("username", in.Username, "version", 1, "verified", in.Verify)
	e.Department, e.Target = d.Slug, "credential:"+d.Slug
	return s.db.Audit(ctx, tx, e, in.Password.Reveal())
}

func (s *Service) replaceCredential(ctx context.Context, tx *store.Tx, p *models.Principal, meta models.RequestMeta, slug string, in CredentialInput) error {
	cur, err := s.db.Credential(ctx, tx, slug, true)
	if err != nil {
		return err
	}
	if cur.CredState().Rotating() {
		return models.Errorf(models.ErrConflict, "A rotation of %s is in progress; wait for it to finish.", slug)
	}
	keyID, ct, err := upstream.Seal(s.keys, cur.ID, in.Password)
	if err != nil {
		return err
	}
	version, err := s.db.ReplaceCredential(ctx, tx, cur.ID, store.Replacement{Username: in.Username, Ciphertext: ct, KeyID: keyID, Verified: in.Verify})
	if err != nil {
		return err
	}
	// An administrator's new password clears the quarantine count; the
	// count since the last successful login is ThingSpace's and stays.
	if err := s.db.ClearAccountFailures(ctx, tx, in.Username); err != nil {
		return err
	}
	// The cached sessions belonged to the old password (or user).
	for _, u := range []string{cur.Username, in.Username} {
		if err := s.db.DeleteSession(ctx, tx, u); err != nil {
			return err
		}
	}
	e := models.NewEvent(models.EvCredentialReplaced, p, meta).With("username", in.Username, "old_version", cur.Version,
		"new_version", version, "verified", in.Verify, "previous_state", cur.State)
	e.Department, e.Target = slug, "credential:"+slug
	return s.db.Audit(ctx, tx, e, in.Password.Reveal())
}

// auditCountReset records, in the transaction that saves the verified
// entry, an administrator's statement that Verizon reset the username's
// failed-login count. The verification login that just worked has zeroed
// the portal's counts already.
func (s *Service) auditCountReset(ctx context.Context, tx *store.Tx, p *models.Principal, meta models.RequestMeta, slug, username string) error {
	a, err := s.db.LockAccount(ctx, tx, username)
	if err != nil {
		return err
	}
	e := models.NewEvent(models.EvFailuresReset, p, meta).With("username", username, "failures_since_success", a.FailuresSinceSuccess)
	e.Department, e.Target = slug, "credential:"+slug
	return s.db.Audit(ctx, tx, e)
}

// verifyNew makes the one verification login of a password being entered,
// through the shared guard as the administrator's explicit action.
func (s *Service) verifyNew(ctx context.Context, p *models.Principal, meta models.RequestMeta, d models.Department, in CredentialInput) error {
	username := in.Username
	who := upstream.Who{P: p, Meta: meta, Purpose: upstream.PurposeTest, Department: d.Slug, Protocol: d.Protocol, Claim: in.CountReset,
		ClaimMark: in.CountResetMark}
	err := s.up.VerifyCandidate(ctx, who, username, in.Password)
	switch c := thingspace.ClassOf(err); {
	case err == nil:
		return nil
	case upstream.Refused(err):
		var me *models.Error
		if errors.As(err, &me) {
			return models.Errorf(models.ErrConflict, "%s Nothing was saved.", me.Message)
		}
		return models.Errorf(models.ErrConflict, "The portal will not try another login with %s: it has failed too often. Nothing was saved.", username)
	case c == thingspace.ClassInvalidCredentials || c == thingspace.ClassLocked:
		return &models.Error{Kind: models.ErrInvalid, Message: fmt.Sprintf("ThingSpace refused the login (%s). Nothing was saved.", upstream.Code(err)), Err: err}
	default:
		var me *models.Error
		if errors.As(err, &me) {
			return err
		}
		return &models.Error{Kind: models.ErrUnavailable, Message: fmt.Sprintf("The verification login did not work (%s). Nothing was saved.", upstream.Code(err)), Err: err}
	}
}

// lockAccounts takes the row locks of the usernames' accounts, in one
// order, before a transaction locks a credential row.
func lockAccounts(ctx context.Context, db *store.DB, tx *store.Tx, usernames ...string) error {
	keys := make([]string, 0, len(usernames))
	for _, u := range usernames {
		keys = append(keys, store.AccountKey(u))
	}
	slices.Sort(keys)
	for _, k := range slices.Compact(keys) {
		if _, err := db.LockAccount(ctx, tx, k); err != nil {
			return err
		}
	}
	return nil
}
