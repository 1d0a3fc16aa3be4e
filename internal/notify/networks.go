package notify

import (
	"context"
	"strings"
	"unicode"

	"github.com/uwsportal/uwsportal/internal/netguard"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

// Networks lists the private networks targets may reach (admins).
func (s *Service) Networks(ctx context.Context, p *models.Principal) ([]models.OutboundNetwork, error) {
	if err := p.Require(models.PermManageNotifications, ""); err != nil {
		return nil, err
	}
	return s.DB.OutboundNetworks(ctx)
}

// AllowNetwork lets notification targets (and API clients' callbacks)
// reach a private network, named (admins); it holds from the next
// connection on every instance.
func (s *Service) AllowNetwork(ctx context.Context, p *models.Principal, meta models.RequestMeta, name, network string) error {
	if err := p.Require(models.PermManageNotifications, ""); err != nil {
		return err
	}
	n, err := netguard.ParseNetwork(name, network)
	if err != nil {
		return models.Errorf(models.ErrInvalid, "%s.", capitalize(err.Error()))
	}
	if strings.IndexFunc(n.Name, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }) >= 0 {
		return models.Errorf(models.ErrInvalid, "The network's name must be printable text.")
	}
	return s.DB.WithTx(ctx, func(tx *store.Tx) error {
		id, err := s.DB.AddOutboundNetwork(ctx, tx, n.Name, n.Prefix.String(), p.Actor, s.Now())
		if err != nil {
			return err
		}
		e := models.NewEvent(models.EvNetworkAllowed, p, meta).With("network_id", id, "name", n.Name, "network", n.Prefix.String())
		e.Target = "outbound-network:" + n.Prefix.String()
		return s.DB.Audit(ctx, tx, e)
	})
}

// RemoveNetwork takes an allowed network back (admins): targets there are
// refused from the next connection.
func (s *Service) RemoveNetwork(ctx context.Context, p *models.Principal, meta models.RequestMeta, id int64) error {
	if err := p.Require(models.PermManageNotifications, ""); err != nil {
		return err
	}
	return s.DB.WithTx(ctx, func(tx *store.Tx) error {
		n, err := s.DB.RemoveOutboundNetwork(ctx, tx, id)
		if err != nil {
			return err
		}
		e := models.NewEvent(models.EvNetworkRemoved, p, meta).With("network_id", n.ID, "name", n.Name, "network", n.Network)
		e.Target = "outbound-network:" + n.Network
		return s.DB.Audit(ctx, tx, e)
	})
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
