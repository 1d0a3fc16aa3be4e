// Package identity holds sign-in (SSO and break-glass), the principal
// behind a session, users and group mappings, and the audit events of
// access (sign-in, sign-out, denial).
package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

// Deps are what Service is built from.
type Deps struct {
	DB  *store.DB
	Log *slog.Logger
	Now func() time.Time
	// AdminGroups are IdP groups whose members are admins (bootstrap).
	AdminGroups []string
}

// Service is the identity use cases.
type Service struct {
	db          *store.DB
	log         *slog.Logger
	now         func() time.Time
	adminGroups []string
}

// New builds the service.
func New(d Deps) *Service {
	return &Service{db: d.DB, log: d.Log, now: d.Now, adminGroups: d.AdminGroups}
}

// Identity is what the identity provider asserted about a person.
type Identity struct {
	Issuer, Subject, Name, Email string
	Groups                       []string
}

// ErrUserDisabled is returned for a disabled user's sign-in or session.
var ErrUserDisabled = models.Errorf(models.ErrForbidden, "Your account has been disabled in the portal. Ask a portal administrator.")

// SignIn records a successful IdP sign-in: the user is created or refreshed
// and their roles recomputed from the current mappings, so a person removed
// from a group loses access now.
func (s *Service) SignIn(ctx context.Context, id Identity, meta models.RequestMeta) (models.User, error) {
	mappings, err := s.db.Mappings(ctx)
	if err != nil {
		return models.User{}, err
	}
	grants := models.GrantsFor(id.Groups, mappings, s.adminGroups)
	var user models.User
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		user, err = s.db.UpsertSignIn(ctx, tx, models.User{Issuer: id.Issuer, Subject: id.Subject, Name: id.Name,
			Email: id.Email, Groups: id.Groups, Grants: grants}, s.now())
		if err != nil {
			return err
		}
		if user.Disabled {
			return ErrUserDisabled
		}
		p := principalOf(user)
		e := models.NewEvent(models.EvSignInSucceeded, p, meta).With("issuer", id.Issuer, "subject", id.Subject,
			"roles", p.RoleNames(), "groups", id.Groups)
		e.Target = "user:" + fmt.Sprint(user.ID)
		return s.db.Audit(ctx, tx, e)
	})
	if errors.Is(err, ErrUserDisabled) {
		s.SignInFailed(ctx, meta, "user disabled", id.Issuer, id.Subject)
	}
	return user, err
}

// SignInFailed audits a failed sign-in and its reason.
func (s *Service) SignInFailed(ctx context.Context, meta models.RequestMeta, reason, issuer, subject string) {
	e := models.NewEvent(models.EvSignInFailed, nil, meta).With("reason", reason, "issuer", issuer, "subject", subject)
	e.Actor, e.Outcome = "anonymous", models.OutcomeFailure
	if subject != "" {
		e.Actor = "subject:" + models.Clip(subject, 128)
		s.auditAlone(ctx, e)
		return
	}
	s.auditAnonymous(ctx, e, meta)
}

// auditAnonymous writes a failure nobody signed in caused: anyone can
// repeat it, so it is counted per address and window rather than written
// each time (store.AuditAggregated).
func (s *Service) auditAnonymous(ctx context.Context, e *models.AuditEvent, meta models.RequestMeta, known ...string) {
	if err := s.db.AuditAggregated(context.WithoutCancel(ctx), e, models.AddressBucket(meta.SourceIP), known...); err != nil && s.log != nil {
		s.log.Error("audit", "code", e.Code, "err", err)
	}
}

// Principal loads the person behind a session. A disabled or vanished user
// gets ErrUserDisabled, which ends the session.
func (s *Service) Principal(ctx context.Context, userID int64) (*models.Principal, error) {
	u, err := s.db.SessionUser(ctx, userID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, ErrUserDisabled
	}
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, ErrUserDisabled
	}
	return principalOf(u), nil
}

// OpenSession reads the session token names and, in the same round trip,
// the person behind user uid (whom the session named when this instance
// last saw it: a hint the caller checks against the session it loads).
// The context it returns carries the session for the session manager's
// Load. The principal is nil if uid is 0 or names nobody; a disabled user
// gives ErrUserDisabled, with the context.
func (s *Service) OpenSession(ctx context.Context, token string, uid int64) (context.Context, *models.Principal, error) {
	ctx, u, found, err := s.db.SessionAndUser(ctx, token, uid)
	switch {
	case err != nil:
		return ctx, nil, err
	case !found && uid == 0:
		return ctx, nil, nil
	case !found || u.Disabled:
		return ctx, nil, ErrUserDisabled
	}
	return ctx, principalOf(u), nil
}

func principalOf(u models.User) *models.Principal {
	return &models.Principal{UserID: u.ID, Actor: fmt.Sprint(u.ID), Name: displayName(u), Local: u.Issuer == models.IssuerLocal, Grants: u.Grants}
}

func displayName(u models.User) string {
	switch {
	case u.Name != "":
		return u.Name
	case u.Email != "":
		return u.Email
	}
	return u.Subject
}

// SignedOut audits a sign-out.
func (s *Service) SignedOut(ctx context.Context, p *models.Principal, meta models.RequestMeta, rpLogout bool) {
	s.auditAlone(ctx, models.NewEvent(models.EvSignOut, p, meta).With("rp_logout", rpLogout))
}

// SessionEnded audits a session that timed out or was cut.
func (s *Service) SessionEnded(ctx context.Context, p *models.Principal, meta models.RequestMeta, reason string) {
	e := models.NewEvent(models.EvSessionExpired, p, meta).With("reason", reason)
	s.auditAlone(ctx, e)
}

// Denied audits an access denial.
func (s *Service) Denied(ctx context.Context, p *models.Principal, meta models.RequestMeta, method, path, perm string) {
	e := models.NewEvent(models.EvAccessDenied, p, meta).With("method", method, "path", models.Clip(path, 256), "permission", perm)
	e.Outcome, e.Target = models.OutcomeDenied, models.Clip(path, 256)
	s.auditAlone(ctx, e)
}

// auditAlone writes an event that records no other change; a failure is
// logged and counted (the writer's sink), and the caller goes on: there is
// no change to refuse. What happened is recorded even if the client has
// gone away meanwhile (here and in auditAnonymous).
func (s *Service) auditAlone(ctx context.Context, e *models.AuditEvent, known ...string) {
	if err := s.db.AuditAlone(context.WithoutCancel(ctx), e, known...); err != nil && s.log != nil {
		s.log.Error("audit", "code", e.Code, "err", err)
	}
}

// Break-glass throttling: per account and per address (an IPv6 /64 counts
// as one address), by reservation before bcrypt, with exponential back-off
// rather than a hard lock.
const (
	localWindow      = 15 * time.Minute
	localFreePerUser = 5
	localFreePerAddr = 20
	localBackoff     = 30 * time.Second
	localMinPassword = 12
)

func breakGlassRules(username, ip string) []store.ThrottleRule {
	return []store.ThrottleRule{
		{Bucket: "user:" + username, Free: localFreePerUser, Base: localBackoff, Max: localWindow, Window: localWindow},
		{Bucket: "addr:" + models.AddressBucket(ip), Free: localFreePerAddr, Base: localBackoff, Max: localWindow, Window: localWindow},
	}
}

// throttled turns a closed bucket into the message the person reads.
func throttled(err error) error {
	var te *store.ErrThrottled
	if !errors.As(err, &te) {
		return err
	}
	wait := te.Wait.Round(time.Second)
	if wait < time.Second {
		wait = time.Second
	}
	return models.Errorf(models.ErrRateLimited, "Too many failed attempts. Wait %s and try again.", wait)
}

// localBcryptCost is the cost of every break-glass hash, real or dummy.
const localBcryptCost = 12

// dummyHash keeps the time of a sign-in for an unknown name the same as for
// a known one: same algorithm, same cost. Made on first use, not at start.
var dummyHash = sync.OnceValue(func() []byte {
	h, err := bcrypt.GenerateFromPassword([]byte("uwsportal-dummy-password"), localBcryptCost)
	if err != nil {
		panic(err) // only a cost out of range fails, and the cost is a constant
	}
	return h
})

// LocalSignIn checks a break-glass admin's password. Every attempt is
// audited (failures counted per address and window); an attempt is reserved against the throttle before the password
// is checked, so parallel guesses cannot slip past the limit.
func (s *Service) LocalSignIn(ctx context.Context, username string, password secret.Secret, meta models.RequestMeta) (models.User, error) {
	username = strings.TrimSpace(username)
	fail := func(reason string, err error) (models.User, error) {
		e := models.NewEvent(models.EvBreakGlassFailed, nil, meta).With("username", models.Clip(username, 64), "reason", reason)
		e.Actor, e.Outcome = "local:"+models.Clip(username, 64), models.OutcomeFailure
		s.auditAnonymous(ctx, e, meta, password.Reveal())
		return models.User{}, err
	}
	bad := models.Errorf(models.ErrUnauthorized, "Wrong username or password.")
	if username == "" || len(username) > 64 || password.Reveal() == "" || len(password.Reveal()) > 256 {
		return fail("malformed", bad)
	}
	rules := breakGlassRules(username, meta.SourceIP)
	if err := s.db.ReserveAttempt(ctx, s.now(), rules...); err != nil {
		if err = throttled(err); errors.Is(err, models.ErrRateLimited) {
			return fail("throttled", err)
		}
		return models.User{}, err
	}
	acct, err := s.db.LocalAccount(ctx, username)
	hash := dummyHash()
	if err == nil {
		hash = []byte(acct.PasswordHash)
	} else if !errors.Is(err, models.ErrNotFound) {
		return models.User{}, err
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password.Reveal())) != nil || acct.UserID == 0 {
		return fail("wrong username or password", bad)
	}
	u, err := s.db.User(ctx, acct.UserID)
	if err != nil {
		return models.User{}, err
	}
	if u.Disabled {
		// Answered like a wrong password: the page must not confirm that
		// the name and password were right.
		return fail("user disabled", bad)
	}
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		if err := s.db.CompleteAttempt(ctx, tx, []string{rules[0].Bucket}, []string{rules[1].Bucket}); err != nil {
			return err
		}
		if err := s.db.TouchSignIn(ctx, tx, u.ID, s.now()); err != nil {
			return err
		}
		return s.db.Audit(ctx, tx, models.NewEvent(models.EvBreakGlassSucceeded, principalOf(u), meta).With("username", username), password.Reveal())
	})
	return u, err
}

// SetLocalAdmin creates or replaces a break-glass admin (command line).
func (s *Service) SetLocalAdmin(ctx context.Context, p *models.Principal, username string, password secret.Secret) error {
	if err := p.Require(models.PermManageUsers, ""); err != nil {
		return err
	}
	if !validLocalName(username) {
		return models.Errorf(models.ErrInvalid, "The username must be 1 to 64 letters, digits, dots, dashes or underscores.")
	}
	pw := password.Reveal()
	if len([]rune(pw)) < localMinPassword {
		return models.Errorf(models.ErrInvalid, "A break-glass password needs at least %d characters.", localMinPassword)
	}
	if err := models.ValidatePassword(pw, username); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(pw), localBcryptCost)
	if err != nil {
		return err
	}
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		created, err := s.db.SaveLocalAccount(ctx, tx, username, string(hash))
		if err != nil {
			return err
		}
		e := models.NewEvent(models.EvLocalAdminSet, p, models.RequestMeta{}).With("username", username, "created", created)
		e.Target = "local:" + username
		return s.db.Audit(ctx, tx, e, pw)
	})
}

func validLocalName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
