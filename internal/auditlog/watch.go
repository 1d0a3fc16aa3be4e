package auditlog

import (
	"context"
	"time"

	"github.com/uwsportal/uwsportal/models"
)

// WatchEvery is how often the chain is verified automatically, once across
// all instances, from the last checkpoint (so it costs the events written
// since; see WatchFullEvery); a broken chain is recorded (audit.verified, failure) and so
// notified (audit-chain) without anyone asking.
const WatchEvery = 24 * time.Hour

// WatchFullEvery is how often the automatic check walks the whole chain
// instead: an edit before the last checkpoint is found only by a full
// walk, so one runs at least this often (a full verification asked for
// by hand counts).
const WatchFullEvery = 7 * 24 * time.Hour

// VerifyIfDue verifies the chain from its last checkpoint if no instance
// has done so automatically for WatchEvery, or the whole chain if nobody
// has for WatchFullEvery. It reports whether it ran.
func (s *Service) VerifyIfDue(ctx context.Context) (bool, error) {
	now := s.now()
	won, err := s.db.ClaimAuditWatch(ctx, now, now.Add(-WatchEvery))
	if err != nil || !won {
		return false, err
	}
	lastFull, err := s.db.LastFullAuditVerify(ctx)
	if err != nil {
		return true, err
	}
	verify := s.VerifyAuditIncremental
	if !lastFull.After(now.Add(-WatchFullEvery)) {
		verify = s.VerifyAudit
	}
	res, err := verify(ctx, models.SystemPrincipal("audit watch"), models.RequestMeta{RequestID: "audit-watch"})
	if err != nil {
		return true, err
	}
	if !res.OK {
		s.log.Error("the audit chain is broken", "first_bad", res.FirstBad, "reason", res.Reason)
	}
	return true, nil
}

// Watch calls VerifyIfDue every ten minutes until ctx ends.
func (s *Service) Watch(ctx context.Context) error {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		if _, err := s.VerifyIfDue(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("automatic audit verification", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
