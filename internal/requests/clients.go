package requests

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"

	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

// Applications' side: the status of their own requests, and their own
// listener, to which the portal fans out the outcomes of their requests.

// ClientListener is an API client's registered listener (never its password).
type ClientListener struct {
	AccountName string `json:"accountName"`
	ServiceName string `json:"serviceName"`
	URL         string `json:"url"`
}

// PublicTarget is the default check of a client's listener URL: http(s),
// and not a loopback, private, link-local or unspecified address written
// as such. Deps.CheckTarget replaces it (a resolver-aware check).
func PublicTarget(u *url.URL) error {
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" || u.User != nil {
		return models.Errorf(models.ErrInvalid, "url must be an absolute http or https URL without credentials.")
	}
	host := strings.ToLower(u.Hostname())
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return models.Errorf(models.ErrInvalid, "url must be a public address.")
	}
	if ip := net.ParseIP(host); ip != nil && (ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() ||
		ip.IsLinkLocalMulticast() || ip.IsMulticast()) {
		return models.Errorf(models.ErrInvalid, "url must be a public address.")
	}
	return nil
}

// clientAAD binds a client listener's sealed password to its client.
func clientAAD(client string) []byte { return secret.AAD("client-listener:"+client, 0) }

// ClientStatus is the status of request id rid for client, from the
// portal's record: another client's request, or one nobody here sent, is
// not found. While it is open, ThingSpace is asked once (and the outcome,
// if any, recorded); once it ended, nothing is sent upstream.
func (s *Service) ClientStatus(ctx context.Context, p *models.Principal, client, rid string) (models.DeviceRequest, bool, error) {
	r, ok, err := s.db.ClientDeviceRequest(ctx, client, rid)
	if err != nil || !ok || !r.Open() {
		return r, ok, err
	}
	c, err := s.connect(ctx, p, models.RequestMeta{}, r.Department)
	if err != nil {
		return r, true, nil // the record's answer: still pending
	}
	st, open, err := s.read(ctx, c, r)
	if err != nil || open {
		return r, true, nil
	}
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		if err := s.db.LockRequestID(ctx, tx, rid); err != nil {
			return err
		}
		return s.end(ctx, tx, r, ending{status: st, how: models.EndedByPoll, at: s.now()})
	})
	if err != nil {
		return r, true, err
	}
	r, ok, err = s.db.ClientDeviceRequest(ctx, client, rid)
	return r, ok, err
}

// ListenerInput is a client's registration, in ThingSpace's shape.
type ListenerInput struct {
	Name     string `json:"name"`
	URL      string `json:"url"`
	Username string `json:"username"`
	Password string `json:"password"`
}

// SetClientListener registers (or replaces) client's listener; nothing
// is sent upstream. Its password is sealed and only ever echoed to it.
func (s *Service) SetClientListener(ctx context.Context, p *models.Principal, meta models.RequestMeta, client, dept string, in ListenerInput) error {
	if in.Name != ServiceCarrier {
		return models.Errorf(models.ErrInvalid, "name must be CarrierService: the portal relays device state changes only.")
	}
	u, err := url.Parse(in.URL)
	if err != nil || len(in.URL) > 2000 {
		return models.Errorf(models.ErrInvalid, "url must be an absolute http or https URL.")
	}
	if err := s.checkTarget(u); err != nil {
		return err
	}
	if len(in.Username) > 200 || len(in.Password) > 200 {
		return models.Errorf(models.ErrInvalid, "username and password are at most 200 characters.")
	}
	row := store.ClientListenerRow{ClientID: client, ServiceName: ServiceCarrier, URL: in.URL, Username: in.Username, CreatedAt: s.now()}
	if in.Password != "" {
		if row.KeyID, row.PasswordSealed, err = s.keys.Seal([]byte(in.Password), clientAAD(client)); err != nil {
			return err
		}
	}
	e := models.NewEvent(models.EvClientListenerSet, p, meta).With("client_id", client, "service", ServiceCarrier, "url", models.Clip(u.Redacted(), 300))
	e.Department, e.Target = dept, "api_client:"+client
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		if err := s.db.PutClientListener(ctx, tx, row); err != nil {
			return err
		}
		return s.db.Audit(ctx, tx, e)
	})
}

// ClientListeners lists client's listener (none or one), for account.
func (s *Service) ClientListeners(ctx context.Context, client, account string) ([]ClientListener, error) {
	l, err := s.db.ClientListener(ctx, nil, client)
	if errors.Is(err, models.ErrNotFound) {
		return []ClientListener{}, nil
	}
	if err != nil {
		return nil, err
	}
	return []ClientListener{{AccountName: account, ServiceName: l.ServiceName, URL: l.URL}}, nil
}

// RemoveClientListener removes client's listener; ErrNotFound if none.
func (s *Service) RemoveClientListener(ctx context.Context, p *models.Principal, meta models.RequestMeta, client, dept, service string) error {
	e := models.NewEvent(models.EvClientListenerRemoved, p, meta).With("client_id", client, "service", models.Clip(service, 40))
	e.Department, e.Target = dept, "api_client:"+client
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		ok, err := s.db.DeleteClientListener(ctx, tx, client)
		if err != nil {
			return err
		}
		if !ok || service != ServiceCarrier {
			return models.Errorf(models.ErrNotFound, "No %s listener is registered.", models.Clip(service, 40))
		}
		return s.db.Audit(ctx, tx, e)
	})
}
