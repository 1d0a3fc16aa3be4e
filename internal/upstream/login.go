package upstream

import (
	"context"

	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/thingspace"
)

// Credential is the thingspace.Credential of an account: the cache and the
// door know it by its account key.
func Credential(username string) thingspace.Credential {
	return thingspace.Credential{Key: store.AccountKey(username), Username: username}
}

// TestLogin logs in once with the account's current password through the
// guard, under the account lock, and logs out again, leaving the cached
// session alone: the "test login" button.
func (s *Service) TestLogin(ctx context.Context, who Who, username string) error {
	return s.loginOnce(ctx, who, username, false, func(l *Lease) (string, error) { return l.Login(ctx) })
}

// VerifyCandidate logs in once with a password an administrator is
// entering (explicit: it may pass a quarantine, never the hard cap; with
// who.Claim, the cap counts from the first claim) and logs out again.
func (s *Service) VerifyCandidate(ctx context.Context, who Who, username string, pw secret.Secret) error {
	return s.loginOnce(ctx, who, username, true, func(l *Lease) (string, error) { return l.VerifyCandidate(ctx, pw) })
}

func (s *Service) loginOnce(ctx context.Context, who Who, username string, explicit bool, login func(*Lease) (string, error)) error {
	held, err := s.LockAccount(ctx, username)
	if err != nil {
		return err
	}
	defer held.Unlock()
	lease, err := s.guard.Reserve(ctx, held, who, explicit)
	if err != nil {
		return err
	}
	tok, err := login(lease)
	if serr := lease.Settle(ctx, nil, err); serr != nil && err == nil {
		// A stale count only makes the guard stricter; the login worked.
		s.log.Warn("lockout guard: record login success", "account", lease.username, "err", serr)
	} else if serr != nil {
		return serr
	}
	if err != nil {
		return err
	}
	s.Logout(ctx, who.Protocol, username, tok)
	return nil
}

// EnsureSession makes sure the account has a cached session, logging in
// (through the door) only if no instance holds one.
func (s *Service) EnsureSession(ctx context.Context, who Who, username string) error {
	c, err := s.Client(who.Protocol)
	if err != nil {
		return err
	}
	return c.Login(WithWho(ctx, who), Credential(username))
}
