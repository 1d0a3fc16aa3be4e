package upstream

import (
	"context"
	"errors"
	"fmt"

	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/models"
)

// The one door to ThingSpace logins and resets. A backend's Login is
// called only by Lease.Login and Lease.VerifyCandidate, its ResetPassword
// only by AccountLock.Reset, and both need the account lock: the
// rotation of the account's credential, the login that fills its session
// and every test login hold it, so the password a login or reset uses is
// read under that lock at the moment of the call, from the credential's
// current version. internal/lint/door fails make lint if any other
// package calls a backend's Login or ResetPassword.

// AccountLock is an upstream account's lock, held by this process.
type AccountLock struct {
	s        *Service
	username string
	l        *store.Lock
}

// LockAccount waits for username's account lock.
func (s *Service) LockAccount(ctx context.Context, username string) (*AccountLock, error) {
	l, err := s.db.LockAccountSession(ctx, username)
	if err != nil {
		return nil, err
	}
	return &AccountLock{s: s, username: username, l: l}, nil
}

// TryLockAccount takes username's account lock if it is free; nil (and no
// error) when a live process holds it.
func (s *Service) TryLockAccount(ctx context.Context, username string) (*AccountLock, error) {
	l, err := s.db.TryLockAccountSession(ctx, username)
	if err != nil || l == nil {
		return nil, err
	}
	return &AccountLock{s: s, username: username, l: l}, nil
}

// Unlock releases the lock.
func (a *AccountLock) Unlock() { a.l.Unlock() }

// current reads the account's credential and opens its password.
func (a *AccountLock) current(ctx context.Context) (store.CredentialRow, secret.Secret, thingspace.Backend, error) {
	row, err := a.s.db.CredentialOfAccount(ctx, nil, a.username)
	if err != nil {
		return row, "", nil, err
	}
	b, err := a.s.backend(models.Protocol(row.Protocol))
	if err != nil {
		return row, "", nil, err
	}
	pw, err := Open(a.s.keys, &row)
	return row, pw, b, err
}

// Reset asks ThingSpace to replace the account's password at version (the
// one the rotation started from) using session. If the credential is no
// longer at that version nothing is sent: the outcome is rejected.
func (a *AccountLock) Reset(ctx context.Context, session string, version int) thingspace.ResetResult {
	row, pw, b, err := a.current(ctx)
	switch {
	case err != nil:
		return thingspace.ResetResult{Outcome: thingspace.ResetRejected, Err: err}
	case row.Version != version:
		return thingspace.ResetResult{Outcome: thingspace.ResetRejected, Err: models.Errorf(models.ErrConflict,
			"The credential changed (version %d, the rotation started from %d); nothing was sent.", row.Version, version)}
	}
	return b.ResetPassword(ctx, session, pw.Reveal())
}

// Logout ends a session made for one purpose; an orphan session expires
// by itself after 20 minutes, so a failure is only logged.
func (s *Service) Logout(ctx context.Context, proto models.Protocol, username, tok string) {
	b, err := s.backend(proto)
	if err == nil {
		err = b.Logout(ctx, tok)
	}
	if err != nil && thingspace.ClassOf(err) != thingspace.ClassSessionExpired {
		s.log.Warn("thingspace: logout after login", "account", store.AccountKey(username), "err", err)
	}
}

// Login makes the lease's one login attempt with the account's current
// password (see the package's door). Settle the lease with its result.
func (l *Lease) Login(ctx context.Context) (string, error) {
	_, pw, b, err := l.held.current(ctx)
	if err != nil {
		return "", notSent(err)
	}
	return b.Login(ctx, l.held.username, pw.Reveal())
}

// VerifyCandidate makes the lease's one login attempt with a password an
// administrator is entering (not stored yet): the only login whose
// password does not come from the credential.
func (l *Lease) VerifyCandidate(ctx context.Context, pw secret.Secret) (string, error) {
	b, err := l.held.s.backend(l.who.Protocol)
	if err != nil {
		return "", notSent(err)
	}
	return b.Login(ctx, l.held.username, pw.Reveal())
}

// notSent marks a failure before anything left for ThingSpace: it never
// counts as a failed login.
func notSent(err error) error {
	return thingspace.NotSent("login", err)
}

// door is the thingspace.Client's one way to log in: under the account
// lock, it looks in the shared cache again (another instance may have
// logged in while this one waited), drops the stale session, reserves the
// attempt, logs in with the current password and caches the session in
// the transaction that settles the attempt.
func (s *Service) door(ctx context.Context, cred thingspace.Credential, stale string) (string, error) {
	held, err := s.LockAccount(ctx, cred.Username)
	if err != nil {
		return "", thingspace.NotSent("login", fmt.Errorf("account lock: %w", err))
	}
	defer held.Unlock()
	tok, ok, err := s.sessions.Get(ctx, cred.Key)
	if err != nil {
		return "", err
	}
	if ok && tok != "" && tok != stale {
		return tok, nil
	}
	if ok && stale != "" {
		if err := s.sessions.Drop(ctx, cred.Key, stale); err != nil {
			return "", err
		}
	}
	lease, err := s.guard.Reserve(ctx, held, whoOf(ctx), false)
	if err != nil {
		if !Refused(err) {
			// The guard could not decide (storage down): fail closed.
			err = fmt.Errorf("%w: %w", thingspace.ErrGuardRefused, err)
		}
		return "", err
	}
	tok, err = lease.Login(ctx)
	return tok, s.settleCaching(ctx, lease, tok, err)
}

// settleCaching settles a login and, when it worked, caches its session in
// the same transaction. A failure to record a success only costs a stale
// count (stricter) and a session not shared.
func (s *Service) settleCaching(ctx context.Context, lease *Lease, tok string, attempt error) error {
	// The attempt happened: its count must land even if the caller has gone.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	serr := s.db.WithTx(ctx, func(tx *store.Tx) error {
		if err := lease.Settle(ctx, tx, attempt); err != nil {
			return err
		}
		if attempt == nil {
			return s.sessions.PutIn(ctx, tx, store.AccountKey(lease.held.username), tok)
		}
		return nil
	})
	if serr != nil && attempt == nil {
		s.log.Warn("lockout guard: record login success", "account", lease.held.username, "err", serr)
		if err := lease.Settle(ctx, nil, nil); err != nil {
			s.log.Warn("lockout guard: record login success alone", "account", lease.held.username, "err", err)
		}
		return nil
	}
	if serr != nil {
		if err := lease.Settle(ctx, nil, attempt); err != nil {
			return errors.Join(attempt, err)
		}
	}
	return attempt
}
