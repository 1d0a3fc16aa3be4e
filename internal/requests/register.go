package requests

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

// ServiceCarrier is the callback service of device state changes.
const ServiceCarrier = "CarrierService"

// ListenerPath is where the portal listens for ThingSpace's callbacks,
// under UWSPORTAL_CALLBACK_URL.
const ListenerPath = "/callbacks/thingspace"

// Registration is a department's listener as the portal and ThingSpace
// see it (never its password).
type Registration struct {
	Department   string
	Account      string
	URL          string // the portal's record ("" : none)
	RegisteredAt *time.Time
	RegisteredBy string
	// Upstream are the listeners ThingSpace lists for the account.
	Upstream []UpstreamListener
	// UpstreamErr says why ThingSpace's list could not be read ("" : it was).
	UpstreamErr string
}

// UpstreamListener is one entry of ThingSpace's list of listeners.
type UpstreamListener struct {
	AccountName string `json:"accountName"`
	ServiceName string `json:"serviceName"`
	URL         string `json:"url"`
}

// CallbackURL is the configured public listener address ("" : none).
func (s *Service) CallbackURL() string {
	if s.callbackURL == "" {
		return ""
	}
	return strings.TrimRight(s.callbackURL, "/") + ListenerPath
}

// department reads slug after checking that p may manage it.
func (s *Service) department(ctx context.Context, p *models.Principal, slug string) (models.Department, error) {
	if p.Anonymous() {
		return models.Department{}, models.ErrUnauthorized
	}
	if !p.Can(models.PermManageDepartments, slug) {
		return models.Department{}, models.Errorf(models.ErrForbidden, "Only an admin manages the callback listener of %s.", slug)
	}
	d, err := s.db.Department(ctx, slug)
	if err != nil {
		return d, err
	}
	if d.AccountName == "" {
		return d, models.Errorf(models.ErrConflict, "Department %s has no ThingSpace account name yet.", slug)
	}
	return d, nil
}

// Register makes the portal the CarrierService listener of slug's account,
// with a new random username and password (ThingSpace echoes them in
// every message; the password is sealed, never shown or recorded).
func (s *Service) Register(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string) error {
	u := s.CallbackURL()
	if u == "" {
		return models.Errorf(models.ErrConflict, "UWSPORTAL_CALLBACK_URL is not set: without a public address ThingSpace cannot call the portal, which polls instead.")
	}
	d, err := s.department(ctx, p, slug)
	if err != nil {
		return err
	}
	c, err := s.connect(ctx, p, meta, slug)
	if err != nil {
		return err
	}
	username, password := "uwsportal-"+random(12), random(32)
	keyID, sealed, err := s.keys.Seal([]byte(password), listenerAAD(d.ID))
	if err != nil {
		return err
	}
	row := store.ListenerRow{DepartmentID: d.ID, AccountName: d.AccountName, URL: u, Username: username, KeyID: keyID,
		PasswordSealed: sealed, RegisteredAt: s.now(), RegisteredBy: p.Actor}
	// Stored first: a message that arrives as soon as ThingSpace has the
	// new registration must find its password. The old one stops working.
	e := models.NewEvent(models.EvCallbackRegistered, p, meta).With("account", d.AccountName, "url", u)
	e.Department, e.Target = slug, "department:"+slug
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		if err := s.db.PutCallbackListener(ctx, tx, row); err != nil {
			return err
		}
		return s.db.Audit(ctx, tx, e)
	})
	if err != nil {
		return err
	}
	body := map[string]string{"name": ServiceCarrier, "url": u, "username": username, "password": password}
	var out struct{ AccountName, ServiceName string }
	if err := c.call(ctx, http.MethodPost, "/api/m2m/v1/callbacks/"+url.PathEscape(d.AccountName), body, &out); err != nil {
		return upstreamErr("Registering the listener", err)
	}
	return nil
}

// Deregister removes the portal's listener from slug's account.
func (s *Service) Deregister(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string) error {
	d, err := s.department(ctx, p, slug)
	if err != nil {
		return err
	}
	c, err := s.connect(ctx, p, meta, slug)
	if err != nil {
		return err
	}
	var out struct{ AccountName, ServiceName string }
	if err := c.call(ctx, http.MethodDelete, "/api/m2m/v1/callbacks/"+url.PathEscape(d.AccountName)+"/name/"+ServiceCarrier, nil, &out); err != nil {
		return upstreamErr("Removing the listener", err)
	}
	e := models.NewEvent(models.EvCallbackDeregistered, p, meta).With("account", d.AccountName)
	e.Department, e.Target = slug, "department:"+slug
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		if err := s.db.DeleteCallbackListener(ctx, tx, d.ID); err != nil {
			return err
		}
		return s.db.Audit(ctx, tx, e)
	})
}

// Registration reads the portal's record of slug's listener and, when
// upstream is true, the listeners ThingSpace lists for the account.
func (s *Service) Registration(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string, upstream bool) (Registration, error) {
	d, err := s.department(ctx, p, slug)
	if err != nil {
		return Registration{}, err
	}
	out := Registration{Department: slug, Account: d.AccountName}
	l, err := s.db.CallbackListener(ctx, nil, slug)
	switch {
	case err == nil:
		out.URL, out.RegisteredAt, out.RegisteredBy = l.URL, &l.RegisteredAt, l.RegisteredBy
	case !errors.Is(err, models.ErrNotFound):
		return out, err
	}
	if !upstream {
		return out, nil
	}
	c, err := s.connect(ctx, p, meta, slug)
	if err == nil {
		err = c.call(ctx, http.MethodGet, "/api/m2m/v1/callbacks/"+url.PathEscape(d.AccountName), nil, &out.Upstream)
	}
	if err != nil {
		out.UpstreamErr = upstreamErr("Reading the listeners", err).Error()
	}
	return out, nil
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it crashes instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Follow registers the portal as slug's listener when callbacks are
// configured and the department's account has none of the portal's yet
// (an admin just set or changed it). It reports whether it registered.
func (s *Service) Follow(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string) (bool, error) {
	if s.CallbackURL() == "" {
		return false, nil
	}
	d, err := s.department(ctx, p, slug)
	if err != nil {
		return false, nil // no account yet: nothing to register
	}
	l, err := s.db.CallbackListener(ctx, nil, slug)
	switch {
	case err == nil && l.AccountName == d.AccountName && l.URL == s.CallbackURL():
		return false, nil
	case err != nil && !errors.Is(err, models.ErrNotFound):
		return false, err
	}
	return true, s.Register(ctx, p, meta, slug)
}
