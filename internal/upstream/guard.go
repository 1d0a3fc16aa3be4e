package upstream

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/models"
)

// Login purposes recorded with every upstream.login.* event.
const (
	PurposeTest    = "test"
	PurposeRotate  = "rotate"
	PurposeVerify  = "verify"
	PurposeResolve = "resolve"
	PurposeUse     = "use"
)

// Who is on whose behalf and why a login is made: what its audit event
// records. It never changes once made.
type Who struct {
	P          *models.Principal
	Meta       models.RequestMeta
	Purpose    string
	Department string
	Protocol   models.Protocol
	// Run is the rotation run the login belongs to (0: none); its lease
	// carries it. TakeOver, set by recovery once it holds the dead run's
	// account lock, counts that run's lease as orphaned at once instead of
	// waiting for it to expire.
	Run      int64
	TakeOver bool
	// Claim: the administrator entering the password states that Verizon
	// reset the failed-login count. It lets this explicit verification pass
	// the hard cap, judged by the failures made since the first claim
	// (store.Account.ClaimFailures), which a claim never resets.
	Claim bool
	// ClaimMark is the account's failures mark (store.DB.FailuresMark)
	// read when the administrator opened the form, before Verizon reset
	// the count: a claim's tally, when it starts, counts the failures
	// recorded since (store.Account.ClaimStart). nil: from this login on.
	ClaimMark *int64
}

func (w Who) leasePrefix() string {
	if w.Run == 0 {
		return ""
	}
	return fmt.Sprintf("run%d.", w.Run)
}

type whoKey struct{}

// WithWho attributes the logins the session-reusing client makes under
// ctx (the client knows nothing of people).
func WithWho(ctx context.Context, w Who) context.Context { return context.WithValue(ctx, whoKey{}, w) }

func whoOf(ctx context.Context) Who {
	w, ok := ctx.Value(whoKey{}).(Who)
	if !ok {
		w.Purpose = PurposeUse
	}
	return w
}

// Guard is the lockout guard shared by every portal instance. The counts
// and the lease of the one login attempt in flight live in the account's
// row (store.Account); every decision is made under its row lock.
type Guard struct{ s *Service }

var errLeaseHeld = errors.New("another login with this account is in flight")

// settleTimeout bounds recording an attempt whose caller has gone.
const settleTimeout = 30 * time.Second

// Lease is one reserved login attempt on an account whose lock the
// holder has; make it (Login) and settle it exactly once.
type Lease struct {
	g        *Guard
	held     *AccountLock
	username string
	id       string
	seq      int64
	who      Who
}

// TryReserve reserves one login attempt for the held account inside the
// caller's transaction (the rotation folds it into its start). It returns
// nil and no error when another attempt holds the lease: reserve again
// later with Reserve, which waits. A refusal is an error wrapping
// ErrGuardRefused; its events (the refusal, and a quarantine it made) are
// written in tx all the same, so that a caller who goes on with tx never
// commits a quarantine without its event.
func (g *Guard) TryReserve(ctx context.Context, tx *store.Tx, held *AccountLock, who Who, explicit bool) (*Lease, error) {
	l, events, err := g.reserveIn(ctx, tx, held, who, explicit)
	if errors.Is(err, errLeaseHeld) {
		return nil, nil
	}
	if aerr := g.audit(ctx, tx, events); aerr != nil {
		return nil, aerr
	}
	return l, err
}

// Reserve reserves one login attempt for username in a transaction of its
// own, waiting while another instance's attempt is in flight. A refusal
// (audited, and the credential quarantined if it reached the threshold) is
// an error wrapping thingspace.ErrGuardRefused.
func (g *Guard) Reserve(ctx context.Context, held *AccountLock, who Who, explicit bool) (*Lease, error) {
	username := held.username
	wait := 5 * time.Millisecond
	for {
		var lease *Lease
		var refused error
		// The reservation is not cut short by the caller: a commit whose
		// answer a cancelled context dropped would leave a lease nobody
		// settles. The caller's end is looked at once it is done.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
		err := g.s.db.WithTx(rctx, func(tx *store.Tx) error {
			l, events, err := g.reserveIn(rctx, tx, held, who, explicit)
			if err != nil && !errors.Is(err, thingspace.ErrGuardRefused) {
				return err
			}
			lease, refused = l, err
			return g.audit(rctx, tx, events)
		})
		cancel()
		if err == nil && lease != nil && ctx.Err() != nil {
			// The caller has gone: give the attempt back unused.
			if serr := lease.Settle(ctx, nil, thingspace.NotSent("login", ctx.Err())); serr != nil {
				return nil, errors.Join(ctx.Err(), serr)
			}
			return nil, fmt.Errorf("reserve a login for %s: %w", username, ctx.Err())
		}
		switch {
		case err == nil && refused != nil:
			g.s.countLogin("refused")
			g.s.RefreshQuarantined(ctx)
			return nil, refused
		case err == nil:
			return lease, nil
		case !errors.Is(err, errLeaseHeld):
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for the login in flight of %s: %w", username, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 250*time.Millisecond)
	}
}

// reserveIn is the guard's decision, under the account's row lock.
func (g *Guard) reserveIn(ctx context.Context, tx *store.Tx, held *AccountLock, who Who, explicit bool) (*Lease, []*models.AuditEvent, error) {
	if held == nil || held.s != g.s {
		return nil, nil, errors.New("lockout guard: a login needs the account's lock")
	}
	db := g.s.db
	a, err := db.LockAccount(ctx, tx, held.username)
	if err != nil {
		return nil, nil, err
	}
	if who.Department == "" {
		who.Department = a.Department // a login the client made without attribution
	}
	if a.Leased && who.TakeOver && who.leasePrefix() != "" && a.LeaseID != nil && strings.HasPrefix(*a.LeaseID, who.leasePrefix()) {
		a.Leased, a.LeaseExpired = false, true // the run's process is gone: its lease with it
	}
	if a.Leased {
		return nil, nil, errLeaseHeld
	}
	var events []*models.AuditEvent
	if a.LeaseExpired {
		if a, err = g.countOrphan(ctx, tx, a); err != nil {
			return nil, nil, err
		}
		g.s.log.Warn("lockout guard: a login attempt of a dead process is counted as failed", "account", a.Username, "consecutive_failures", a.ConsecutiveFailures)
		if g.s.rule.Quarantines(a.ConsecutiveFailures, a.FailuresSinceSuccess) {
			q, err := g.quarantine(ctx, tx, a.Username, who, a.ConsecutiveFailures, "orphaned-login")
			if err != nil {
				return nil, nil, err
			}
			events = append(events, q...)
			a.CredentialState = string(models.StateQuarantined)
		}
	}
	claim := who.Claim && explicit
	if refused := g.s.rule.Refusal(models.CredentialState(a.CredentialState), a.ConsecutiveFailures, sinceSuccess(a, claim, who.ClaimMark), explicit); refused != nil {
		events = append(events, loginEvent(who, models.EvUpstreamLoginGuard, nil, a.ConsecutiveFailures))
		return nil, events, refused
	}
	l := &Lease{g: g, held: held, username: a.Username, id: who.leasePrefix() + newLeaseID(), who: who}
	if l.seq, err = db.ReserveLogin(ctx, tx, a.Username, l.id, g.s.cfg.LoginLease, claim, who.ClaimMark); err != nil {
		return nil, nil, err
	}
	return l, events, nil
}

// sinceSuccess is the failures the hard cap judges: ThingSpace's count
// since the last successful login, or, for a claimed verification, the
// failures since the first claim after it: counted from the claim's mark
// when this claim starts the tally, as ReserveLogin will.
func sinceSuccess(a store.Account, claim bool, mark *int64) int {
	if !claim {
		return a.FailuresSinceSuccess
	}
	if a.ClaimFailures == nil {
		return a.ClaimStart(mark)
	}
	return *a.ClaimFailures
}

func (g *Guard) countOrphan(ctx context.Context, tx *store.Tx, a store.Account) (store.Account, error) {
	id := ""
	if a.LeaseID != nil {
		id = *a.LeaseID
	}
	after, err := g.s.db.CountOrphanedLogin(ctx, tx, a.Username, id)
	if err != nil {
		return a, err
	}
	// The orphan counts in the claim tally too: a stale one would let a
	// claimed verification pass with one failure unseen.
	a.ConsecutiveFailures, a.FailuresSinceSuccess = after.ConsecutiveFailures, after.FailuresSinceSuccess
	a.ClaimFailures, a.FailuresTotal = after.ClaimFailures, after.FailuresTotal
	return a, nil
}

func newLeaseID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// Settle ends the lease with the attempt's result, in tx (nil: a
// transaction of its own): nil is a success; an error is counted unless it
// provably never reached the login service. The upstream.login.* event is
// written in the same transaction; a count that reaches the threshold
// quarantines the credential there too.
func (l *Lease) Settle(ctx context.Context, tx *store.Tx, attempt error) error {
	if tx == nil {
		// The attempt happened: its count and its event must land even if
		// the caller has gone (a closed tab, a cancelled command).
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
		defer cancel()
	}
	quarantined := false
	settle := func(tx *store.Tx) error {
		events, q, err := l.settleIn(ctx, tx, attempt)
		if err != nil {
			return err
		}
		quarantined = q
		return l.g.audit(ctx, tx, events)
	}
	var err error
	if tx != nil {
		err = settle(tx)
	} else {
		err = l.g.s.db.WithTx(ctx, settle)
	}
	if err != nil {
		return fmt.Errorf("lockout guard: settle login of %s: %w", l.username, err)
	}
	switch {
	case attempt == nil:
		l.g.s.countLogin("ok")
	default:
		l.g.s.countLogin("failed")
	}
	if quarantined {
		l.g.s.log.Warn("credential quarantined after consecutive failed logins", "account", l.username, "threshold", l.g.s.rule.Threshold)
		l.g.s.RefreshQuarantined(ctx)
	}
	return nil
}

func (l *Lease) settleIn(ctx context.Context, tx *store.Tx, attempt error) ([]*models.AuditEvent, bool, error) {
	db := l.g.s.db
	switch {
	case attempt == nil:
		err := db.RecordUpstreamSuccess(ctx, tx, l.username, l.seq, l.id)
		return []*models.AuditEvent{loginEvent(l.who, models.EvUpstreamLoginOK, nil, 0)}, false, err
	case !thingspace.MayCountUpstream(attempt):
		err := db.ReleaseLogin(ctx, tx, l.username, l.id)
		return []*models.AuditEvent{loginEvent(l.who, models.EvUpstreamLoginFailed, attempt, -1)}, false, err
	}
	a, err := db.RecordUpstreamFailure(ctx, tx, l.username, l.seq, l.id, Code(attempt))
	if err != nil {
		return nil, false, err
	}
	events := []*models.AuditEvent{loginEvent(l.who, models.EvUpstreamLoginFailed, attempt, a.ConsecutiveFailures)}
	if !l.g.s.rule.Quarantines(a.ConsecutiveFailures, a.FailuresSinceSuccess) {
		return events, false, nil
	}
	q, err := l.g.quarantine(ctx, tx, l.username, l.who, a.ConsecutiveFailures, Code(attempt))
	return append(events, q...), len(q) > 0, err
}

// quarantine quarantines the credential using username, if any and not
// already quarantined, and returns its event.
func (g *Guard) quarantine(ctx context.Context, tx *store.Tx, username string, who Who, failures int, code string) ([]*models.AuditEvent, error) {
	slug, err := g.s.db.QuarantineCredentialOf(ctx, tx, username)
	if err != nil || slug == "" {
		return nil, err
	}
	e := models.NewEvent(models.EvQuarantined, who.P, who.Meta).
		With("consecutive_failures", failures, "threshold", g.s.rule.Threshold, "upstream_code", code)
	e.Department, e.Target, e.Outcome = slug, "credential:"+slug, models.OutcomeFailure
	return []*models.AuditEvent{e}, nil
}

func (g *Guard) audit(ctx context.Context, tx *store.Tx, events []*models.AuditEvent) error {
	for _, e := range events {
		if err := g.s.db.Audit(ctx, tx, e); err != nil {
			return err
		}
	}
	return nil
}

// loginEvent builds an upstream.login.* event; failures < 0 records an
// attempt that did not count.
func loginEvent(who Who, code string, err error, failures int) *models.AuditEvent {
	e := models.NewEvent(code, who.P, who.Meta).With("purpose", who.Purpose, "protocol", string(who.Protocol))
	e.Department, e.Target = who.Department, "credential:"+who.Department
	switch code {
	case models.EvUpstreamLoginFailed:
		e.Outcome = models.OutcomeFailure
		e.With("upstream_code", Code(err), "class", thingspace.ClassOf(err).String())
		if failures >= 0 {
			e.With("consecutive_failures", failures)
		} else {
			e.With("counted", false)
		}
	case models.EvUpstreamLoginGuard:
		e.Outcome = models.OutcomeDenied
		e.With("consecutive_failures", failures)
	}
	return e
}
