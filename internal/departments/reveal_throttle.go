package departments

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

// revealRule lets a person see five passwords an hour without delay, then
// backs off: a reveal is the exception, and a burst of them is a signal.
func revealRule(p *models.Principal) store.ThrottleRule {
	return store.ThrottleRule{Bucket: "reveal:" + strconv.FormatInt(p.UserID, 10), Free: 5,
		Base: time.Minute, Max: time.Hour, Window: time.Hour}
}

// ReserveReveal takes one reveal from the person's allowance, before the
// reveal itself is asked for (so that a burst is slowed even when each
// reveal is refused later). A refusal is ErrRateLimited with RetryAfter.
func (s *Service) ReserveReveal(ctx context.Context, p *models.Principal) error {
	err := s.db.ReserveAttempt(ctx, s.now(), revealRule(p))
	var te *store.ErrThrottled
	if errors.As(err, &te) {
		return &models.Error{Kind: models.ErrRateLimited, RetryAfter: te.Wait,
			Message: "You have revealed passwords often in the last hour. Wait " + te.Wait.Round(time.Second).String() + " and try again."}
	}
	return err
}
