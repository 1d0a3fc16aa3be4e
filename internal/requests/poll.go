package requests

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/internal/upstream"
	"github.com/uwsportal/uwsportal/models"
)

// PollOptions bound the status reads.
type PollOptions struct {
	// Every is the pause between passes (default 2 s).
	Every time.Duration
	// PerPass bounds the requests read in one pass, PerAccount those of
	// one account (defaults 50 and 5): at most PerAccount reads per
	// account every Every, whatever the backlog.
	PerPass    int
	PerAccount int
	// Lease is how long a claimed request is left to its poller (default 1 min).
	Lease time.Duration
}

func (o PollOptions) withDefaults() PollOptions {
	if o.Every <= 0 {
		o.Every = 2 * time.Second
	}
	if o.PerPass <= 0 {
		o.PerPass = 50
	}
	if o.PerAccount <= 0 {
		o.PerAccount = 5
	}
	if o.Lease <= 0 {
		o.Lease = time.Minute
	}
	return o
}

// PollDue asks ThingSpace about the open requests whose status read is
// due, and returns how many it asked about. Every instance may run it:
// each request is claimed by one.
func (s *Service) PollDue(ctx context.Context) (int, error) {
	due, err := s.db.ClaimDueRequests(ctx, s.now(), s.poll.Lease, s.poll.PerPass, s.poll.PerAccount)
	if err != nil {
		return 0, err
	}
	conns := map[string]*conn{}
	for _, r := range due {
		c, ok := conns[r.Department]
		if !ok {
			if c, err = s.connect(ctx, nil, models.RequestMeta{}, r.Department); err != nil {
				s.log.WarnContext(ctx, "request status not read", "department", r.Department, "err", err)
			}
			conns[r.Department] = c
		}
		if err := s.pollOne(ctx, c, r); err != nil {
			s.log.WarnContext(ctx, "request status", "request", r.ID, "err", err)
		}
	}
	return len(due), nil
}

// pollOne reads one request's outcome; without an answer it schedules
// the next read, or gives up after a day (unknown).
func (s *Service) pollOne(ctx context.Context, c *conn, r models.DeviceRequest) error {
	st, open, err := s.read(ctx, c, r)
	if err == nil && !open {
		return s.db.WithTx(ctx, func(tx *store.Tx) error {
			if r.RequestID != "" {
				if err := s.db.LockRequestID(ctx, tx, r.RequestID); err != nil {
					return err
				}
			}
			return s.end(ctx, tx, r, ending{status: st, how: models.EndedByPoll, at: s.now()})
		})
	}
	polls := r.Polls + 1
	next, more := models.NextPoll(r.SentAt, polls)
	for more && !next.After(s.now()) { // a poller that was away: no burst of catch-up reads
		polls++
		next, more = models.NextPoll(r.SentAt, polls)
	}
	perr := s.db.WithTx(ctx, func(tx *store.Tx) error {
		var at *time.Time
		if more {
			at = &next
		}
		changed, err := s.db.RequestPolled(ctx, tx, r.ID, polls, at)
		if err != nil || !changed || more {
			return err
		}
		e := models.NewEvent(models.EvDeviceRequestUnknown, r.Principal(), models.RequestMeta{})
		e.Department, e.Target, e.Outcome = r.Department, "device_request:"+strconv.FormatInt(r.ID, 10), models.OutcomeFailure
		e.With("request", r.ID, "request_id", r.RequestID, "operation", string(r.Operation), "devices", store.DeviceKeys(r.Devices),
			"first_event", r.FirstEvent, "polls", polls)
		return s.db.Audit(ctx, tx, e)
	})
	return errors.Join(err, perr)
}

// read asks about r: its status by request id, or, when the send's answer
// was lost, its device's state (a state that shows the change done is a
// success; anything else tells nothing yet).
func (s *Service) read(ctx context.Context, c *conn, r models.DeviceRequest) (models.RequestStatus, bool, error) {
	if c == nil {
		return models.RequestPending, true, errors.New("no usable credential")
	}
	if r.RequestID != "" {
		ans, err := c.status(ctx, r.Account, r.RequestID)
		if err != nil {
			return models.RequestPending, true, fmt.Errorf("status of %s: %s", r.RequestID, upstream.Code(err))
		}
		st, open := models.RequestOutcome(ans.Status)
		return st, open, nil
	}
	want := models.ExpectedState(r.Operation)
	if want == "" || len(r.Devices) != 1 {
		return models.RequestUnknown, true, nil
	}
	state, found, err := c.deviceState(ctx, r.Account, r.Devices[0])
	if err != nil {
		return models.RequestUnknown, true, fmt.Errorf("state of %s: %s", store.DeviceKey(r.Devices[0]), upstream.Code(err))
	}
	if found && thingspace.SameState(state, want) {
		return models.RequestSucceeded, false, nil
	}
	return models.RequestUnknown, true, nil
}

// Run polls due requests and delivers the clients' callbacks until ctx
// ends. Every instance runs it; each request and message is claimed by one.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.poll.Every)
	defer t.Stop()
	for {
		if _, err := s.PollDue(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "poll device requests", "err", err)
		}
		if _, err := s.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "deliver client callbacks", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func upstreamErr(what string, err error) error {
	var me *models.Error
	if errors.As(err, &me) {
		return err
	}
	return &models.Error{Kind: models.ErrUnavailable, Message: fmt.Sprintf("%s: ThingSpace answered %s.", what, upstream.Code(err)), Err: err}
}
