package approvals

import (
	"context"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

// expireBatch bounds one sweep transaction.
const expireBatch = 100

// ExpireDue marks every pending request older than
// models.ApprovalPendingTTL and every approval past its window as
// expired, each with its approval.expired event in the same transaction,
// and returns how many. Safe on several instances at once: a row another
// sweep holds is skipped, so each is expired and audited once.
func (s *Service) ExpireDue(ctx context.Context) (int, error) {
	total := 0
	for {
		n := 0
		now := s.now()
		err := s.db.WithTx(ctx, func(tx *store.Tx) error {
			due, err := s.db.ExpireApprovals(ctx, tx, now, expireBatch)
			if err != nil {
				return err
			}
			n = len(due)
			sys := models.SystemPrincipal("approval expiry")
			for _, a := range due {
				e := event(models.EvApprovalExpired, sys, models.RequestMeta{}, a.Approval).
					With("previous_state", string(a.Previous), "expires_at", stamp(a.ExpiresAt))
				if err := s.db.Audit(ctx, tx, e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < expireBatch {
			return total, nil
		}
	}
}
