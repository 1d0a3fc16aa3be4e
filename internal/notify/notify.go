// Package notify tells people what needs them: a quarantined credential, a
// failed rotation, a break-glass sign-in, an approval to decide. Events
// reach the outbox in the transaction that records them (internal/store);
// this package manages the channels admins configure and runs the worker
// that fans the outbox out and delivers it (internal/notify/channel sends).
package notify

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/uwsportal/uwsportal/internal/metrics"
	"github.com/uwsportal/uwsportal/internal/notify/channel"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

// FailingAfter is how many failed deliveries in a row flag a channel on the
// admin dashboard.
const FailingAfter = 3

// Deps are what the service is built from.
type Deps struct {
	DB      *store.DB
	Keys    *secret.Keyring
	Sender  *channel.Sender
	Log     *slog.Logger
	Metrics *metrics.Metrics
	Now     func() time.Time
	// BaseURL makes links absolute (no trailing slash).
	BaseURL string
	// MailEnabled says an SMTP server is configured: email channels can be
	// added and department leads are mailed their department's events.
	MailEnabled bool
	// DueDays is how long before its maximum age a credential is reported
	// due (default 7).
	DueDays int
}

// Service manages channels and delivers notifications.
type Service struct{ Deps }

// New returns the service.
func New(d Deps) *Service {
	if d.DueDays <= 0 {
		d.DueDays = 7
	}
	d.BaseURL = strings.TrimRight(d.BaseURL, "/")
	return &Service{d}
}

// Channel is a channel as pages and the command line show it: its target
// redacted, never its signing secret.
type Channel struct {
	ID                  int64
	Kind                models.ChannelKind
	Target              string
	Department          string // "" for portal-wide
	Events              []string
	CreatedBy           string
	CreatedAt           time.Time
	ConsecutiveFailures int
	LastError           string
	LastFailureAt       *time.Time
	LastSuccessAt       *time.Time
}

// Failing reports whether the channel's last FailingAfter deliveries failed.
func (c Channel) Failing() bool { return c.ConsecutiveFailures >= FailingAfter }

// EventList is the channel's events for display.
func (c Channel) EventList() string {
	if len(c.Events) == 0 {
		return "all events"
	}
	return strings.Join(c.Events, ", ")
}

func channelOf(r store.ChannelRow) Channel {
	return Channel{ID: r.ID, Kind: r.Kind, Target: r.TargetShown, Department: r.Department, Events: r.Events,
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, ConsecutiveFailures: r.ConsecutiveFailures,
		LastError: r.LastError, LastFailureAt: r.LastFailureAt, LastSuccessAt: r.LastSuccessAt}
}

// AddInput describes a new channel.
type AddInput struct {
	Kind       string
	Target     string // URL or email address
	Department string // slug; "" for portal-wide
	Events     string // comma-separated; "" for every event
}

// Added is a new channel and, for a webhook, its signing secret: shown
// once, never again.
type Added struct {
	Channel       Channel
	SigningSecret string
}

// Add creates a channel after checking every input; bad input changes
// nothing.
func (s *Service) Add(ctx context.Context, p *models.Principal, meta models.RequestMeta, in AddInput) (Added, error) {
	if err := p.Require(models.PermManageNotifications, ""); err != nil {
		return Added{}, err
	}
	kind, err := models.ParseChannelKind(in.Kind)
	if err != nil {
		return Added{}, err
	}
	target := strings.TrimSpace(in.Target)
	if err := channel.ValidateTarget(kind, target); err != nil {
		return Added{}, err
	}
	// Resolved now to say so at once; checked again at every connection.
	if err := s.Sender.CheckTarget(ctx, kind, target); err != nil {
		return Added{}, err
	}
	if kind == models.ChannelEmail && !s.MailEnabled {
		return Added{}, models.Errorf(models.ErrInvalid,
			"Email needs an SMTP server: set UWSPORTAL_SMTP_ADDR and UWSPORTAL_SMTP_FROM, then add the channel.")
	}
	events, err := models.ParseNotifyEvents(in.Events)
	if err != nil {
		return Added{}, err
	}
	var out Added
	if kind == models.ChannelWebhook {
		out.SigningSecret = newSigningSecret()
	}
	row := store.ChannelRow{Kind: kind, TargetShown: channel.Redact(kind, target), CreatedBy: p.Actor, CreatedAt: s.Now()}
	for _, e := range events {
		row.Events = append(row.Events, string(e))
	}
	if slug := strings.TrimSpace(in.Department); slug != "" {
		d, err := s.DB.Department(ctx, slug)
		if err != nil {
			return Added{}, err
		}
		row.DepartmentID, row.Department = &d.ID, d.Slug
	}
	err = s.DB.WithTx(ctx, func(tx *store.Tx) (err error) {
		if row.ID, err = s.DB.NextChannelID(ctx, tx); err != nil {
			return err
		}
		if err := s.seal(&row, target, out.SigningSecret); err != nil {
			return err
		}
		if err := s.DB.CreateChannel(ctx, tx, row); err != nil {
			return err
		}
		e := models.NewEvent(models.EvNotifyChannelAdded, p, meta).With("channel_id", row.ID, "kind", string(kind),
			"target", row.TargetShown, "department", row.Department, "events", row.Events)
		e.Department, e.Target = row.Department, fmt.Sprintf("notify-channel:%d", row.ID)
		return s.DB.Audit(ctx, tx, e, target, out.SigningSecret)
	})
	out.Channel = channelOf(row)
	return out, err
}

// newSigningSecret is 32 random bytes, printable; the HMAC key is the
// printed string itself.
func newSigningSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand crashes rather than return an error)
	return "whsec_" + base64.RawURLEncoding.EncodeToString(b)
}

// channelAAD binds a channel's sealed parts to its row.
func channelAAD(id int64) []byte { return secret.AAD("notify-channel", id) }

func (s *Service) seal(row *store.ChannelRow, target, signing string) error {
	keyID, ct, err := s.Keys.Seal([]byte(target), channelAAD(row.ID))
	if err != nil {
		return err
	}
	row.KeyID, row.TargetSealed = keyID, ct
	if signing != "" {
		if _, row.SecretSealed, err = s.Keys.Seal([]byte(signing), channelAAD(row.ID)); err != nil {
			return err
		}
	}
	return nil
}

// List lists every channel.
func (s *Service) List(ctx context.Context, p *models.Principal) ([]Channel, error) {
	if err := p.Require(models.PermManageNotifications, ""); err != nil {
		return nil, err
	}
	rows, err := s.DB.Channels(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Channel, len(rows))
	for i, r := range rows {
		out[i] = channelOf(r)
	}
	return out, nil
}

// Remove deletes a channel; its pending deliveries go with it.
func (s *Service) Remove(ctx context.Context, p *models.Principal, meta models.RequestMeta, id int64) error {
	if err := p.Require(models.PermManageNotifications, ""); err != nil {
		return err
	}
	c, err := s.DB.Channel(ctx, id)
	if err != nil {
		return err
	}
	return s.DB.WithTx(ctx, func(tx *store.Tx) error {
		if err := s.DB.DeleteChannel(ctx, tx, id); err != nil {
			return err
		}
		e := models.NewEvent(models.EvNotifyChannelRemoved, p, meta).With("channel_id", id, "kind", string(c.Kind),
			"target", c.TargetShown, "department", c.Department)
		e.Department, e.Target = c.Department, fmt.Sprintf("notify-channel:%d", id)
		return s.DB.Audit(ctx, tx, e)
	})
}
