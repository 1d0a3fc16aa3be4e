package notify

import (
	"context"
	"errors"
	"fmt"

	"github.com/uwsportal/uwsportal/internal/netguard"
	"github.com/uwsportal/uwsportal/internal/notify/channel"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

// send opens the delivery's destination and sends its message, the link
// made absolute.
func (s *Service) send(ctx context.Context, d store.Delivery) error {
	dest, err := s.destination(d)
	if err != nil {
		return channel.Permanent(err)
	}
	m := d.Message
	if m.Link != "" {
		m.Link = s.BaseURL + m.Link
	}
	return s.Sender.Send(ctx, dest, m)
}

func (s *Service) destination(d store.Delivery) (channel.Destination, error) {
	if d.Channel == nil {
		return channel.Destination{Kind: models.ChannelEmail, Address: d.Email}, nil
	}
	return s.open(d.Kind, d.Channel)
}

// open decrypts a channel's target and signing secret.
func (s *Service) open(kind models.ChannelKind, c *store.SealedChannel) (channel.Destination, error) {
	dest := channel.Destination{Kind: kind}
	target, err := s.Keys.Open(c.KeyID, c.Target, channelAAD(c.ID))
	if err != nil {
		return dest, fmt.Errorf("decrypt notification channel %d: %w", c.ID, err)
	}
	if kind == models.ChannelEmail {
		dest.Address = string(target)
	} else {
		dest.URL = string(target)
	}
	if c.SigningKey != nil {
		if dest.Secret, err = s.Keys.Open(c.KeyID, c.SigningKey, channelAAD(c.ID)); err != nil {
			return dest, fmt.Errorf("decrypt notification channel %d: %w", c.ID, err)
		}
	}
	return dest, nil
}

// Test sends a test message to channel id now, and records the result in
// the audit trail. The error says why the channel refused it.
func (s *Service) Test(ctx context.Context, p *models.Principal, meta models.RequestMeta, id int64) error {
	if err := p.Require(models.PermManageNotifications, ""); err != nil {
		return err
	}
	c, err := s.DB.Channel(ctx, id)
	if err != nil {
		return err
	}
	dest, err := s.open(c.Kind, &store.SealedChannel{ID: c.ID, KeyID: c.KeyID, Target: c.TargetSealed, SigningKey: c.SecretSealed})
	if err != nil {
		return err
	}
	m := models.Notification{Event: "test", Department: c.Department, Time: s.Now(), Link: s.BaseURL + "/admin/notifications",
		Subject: "Test notification from uwsportal",
		Text:    fmt.Sprintf("%s asked for this test message to channel %d. Nothing needs doing.", p.Name, id)}
	sendErr := s.Sender.Send(ctx, dest, m)
	e := models.NewEvent(models.EvNotifyChannelTested, p, meta).With("channel_id", id, "kind", string(c.Kind), "target", c.TargetShown)
	e.Department, e.Target = c.Department, fmt.Sprintf("notify-channel:%d", id)
	if sendErr != nil {
		e.Outcome = models.OutcomeFailure
		e.With("result", "failed", "error", testResult(sendErr))
	} else {
		e.With("result", "sent")
	}
	if err := s.DB.AuditAlone(context.WithoutCancel(ctx), e, dest.URL, string(dest.Secret)); err != nil {
		return err
	}
	if sendErr != nil {
		return models.Errorf(models.ErrUnavailable, "The channel did not take the test message: %s.", testResult(sendErr))
	}
	return nil
}

// testResult is what a test shows of a failure: the status code the
// target answered, or why no answer came (refused, unreachable), never
// what it said; a channel must not be a way to read a service.
func testResult(err error) string {
	var h *channel.HTTPError
	switch {
	case errors.As(err, &h):
		return fmt.Sprintf("it answered HTTP %d", h.StatusCode)
	case errors.Is(err, netguard.ErrRefused):
		return "its address is refused (a private network must be allowed by name first)"
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer in time"
	}
	return "it could not be reached"
}

// Reseal re-encrypts, in tx, every channel not sealed with the current key
// (part of rekey) and returns how many.
func (s *Service) Reseal(ctx context.Context, tx *store.Tx) (int, error) {
	rows, err := s.DB.ChannelsSealedBefore(ctx, tx, s.Keys.CurrentID())
	if err != nil {
		return 0, err
	}
	for _, c := range rows {
		next := store.SealedChannel{ID: c.ID}
		if next.KeyID, next.Target, err = s.reseal(c.KeyID, c.Target, c.ID); err != nil {
			return 0, err
		}
		if c.SigningKey != nil {
			if _, next.SigningKey, err = s.reseal(c.KeyID, c.SigningKey, c.ID); err != nil {
				return 0, err
			}
		}
		if err := s.DB.ResealChannel(ctx, tx, next); err != nil {
			return 0, err
		}
	}
	return len(rows), nil
}

func (s *Service) reseal(keyID string, ct []byte, id int64) (string, []byte, error) {
	pt, err := s.Keys.Open(keyID, ct, channelAAD(id))
	if err != nil {
		return "", nil, fmt.Errorf("rekey notification channel %d: %w", id, err)
	}
	defer clear(pt)
	return s.Keys.Seal(pt, channelAAD(id))
}

// Failing lists the channels flagged on the admin dashboard: their last
// FailingAfter deliveries or more failed in a row.
func (s *Service) Failing(ctx context.Context) ([]Channel, error) {
	rows, err := s.DB.FailingChannels(ctx, FailingAfter)
	if err != nil {
		return nil, err
	}
	out := make([]Channel, len(rows))
	for i, r := range rows {
		out[i] = channelOf(r)
	}
	return out, nil
}

// Backlog counts the messages waiting and those given up on.
func (s *Service) Backlog(ctx context.Context) (store.NotifyBacklog, error) {
	return s.DB.NotifyBacklog(ctx)
}
