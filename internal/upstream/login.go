package upstream

import (
	"context"
	"errors"

	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/thingspace"
)

// Credential is the thingspace.Credential of an account: the cache and the
// guard know it by its account key.
func Credential(username string, pw secret.Secret) thingspace.Credential {
	return thingspace.Credential{Key: store.AccountKey(username), Username: username, Password: pw}
}

// LoginWith makes one login attempt under lease (already reserved) and
// settles it in a transaction of its own.
func (s *Service) LoginWith(ctx context.Context, lease *Lease, b thingspace.Backend, username string, pw secret.Secret) (string, error) {
	tok, err := b.Login(ctx, username, pw.Reveal())
	if serr := lease.Settle(ctx, nil, err); serr != nil {
		if err == nil {
			// A stale count only makes the guard stricter; the session works.
			s.log.Warn("lockout guard: record login success", "account", lease.username, "err", serr)
		} else {
			err = errors.Join(err, serr)
		}
	}
	return tok, err
}

// TestLogin logs in once with username and pw through the guard and logs
// out again, leaving the cached session alone: the "test login" button
// (explicit false) and an administrator's verification of a password
// being entered (explicit true: it may pass a quarantine, never the cap).
func (s *Service) TestLogin(ctx context.Context, who Who, username string, pw secret.Secret, explicit bool) error {
	b, err := s.Backend(who.Protocol)
	if err != nil {
		return err
	}
	lease, err := s.guard.Reserve(ctx, username, who, explicit)
	if err != nil {
		return err
	}
	tok, err := s.LoginWith(ctx, lease, b, username, pw)
	if err != nil {
		return err
	}
	s.Logout(ctx, b, username, tok)
	return nil
}

// Logout ends a session made for one purpose; an orphan session expires
// by itself after 20 minutes, so a failure is only logged.
func (s *Service) Logout(ctx context.Context, b thingspace.Backend, username, tok string) {
	if err := b.Logout(ctx, tok); err != nil && thingspace.ClassOf(err) != thingspace.ClassSessionExpired {
		s.log.Warn("thingspace: logout after login", "account", store.AccountKey(username), "err", err)
	}
}

// EnsureSession makes sure the account has a cached session, logging in
// (through the guard) only if no instance holds one: the client takes the
// account lock around its login, so an instance finding no session waits
// for the one logging in and then uses its session.
func (s *Service) EnsureSession(ctx context.Context, who Who, username string, pw secret.Secret) error {
	c, err := s.Client(who.Protocol)
	if err != nil {
		return err
	}
	return c.Login(WithWho(ctx, who), Credential(username, pw))
}
