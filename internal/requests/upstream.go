package requests

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/internal/upstream"
	"github.com/uwsportal/uwsportal/models"
)

// conn is a department's way upstream: the shared session's client and
// credential, and who the logins it may make are attributed to.
type conn struct {
	client *thingspace.Client
	cred   thingspace.Credential
	who    upstream.Who
}

// connect readies the department's credential for calls through the
// shared session (the session-reusing client logs in, through the
// lockout guard, only if no session is cached). A credential that is not
// usable is refused before any call.
func (s *Service) connect(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string) (*conn, error) {
	row, err := s.depts.Credential(ctx, slug)
	if errors.Is(err, models.ErrNotFound) {
		return nil, models.Errorf(models.ErrConflict, "Department %s has no UWS credential yet.", slug)
	}
	if err != nil {
		return nil, err
	}
	switch st := row.CredState(); {
	case models.Protocol(row.Protocol) != models.ProtocolREST:
		return nil, models.Errorf(models.ErrConflict, "Department %s uses legacy SOAP, which has no callbacks or request status.", slug)
	case st == models.StateQuarantined || st == models.StateAttention || st == models.StateUnknown:
		return nil, models.Errorf(models.ErrConflict, "The credential of %s needs an administrator, so the portal will not use it.", slug)
	}
	c, err := s.up.Client(models.ProtocolREST)
	if err != nil {
		return nil, models.Errorf(models.ErrConflict, "ThingSpace is not configured on this portal.")
	}
	who := upstream.Who{P: p, Meta: meta, Purpose: upstream.PurposeUse, Department: slug, Protocol: models.ProtocolREST}
	return &conn{client: c, cred: upstream.Credential(row.Username), who: who}, nil
}

// call makes one M2M call through the shared session.
func (c *conn) call(ctx context.Context, method, path string, body, out any) error {
	return c.client.Call(upstream.WithWho(ctx, c.who), c.cred, method, path, body, out)
}

// statusAnswer is the request status endpoint's answer.
type statusAnswer struct {
	RequestID string `json:"requestId"`
	Status    string `json:"status"`
}

// status reads a request's status upstream.
func (c *conn) status(ctx context.Context, account, rid string) (statusAnswer, error) {
	var out statusAnswer
	err := c.call(ctx, http.MethodGet, "/api/m2m/v1/accounts/"+url.PathEscape(account)+"/requests/"+url.PathEscape(rid)+"/status", nil, &out)
	return out, err
}

// deviceState reads the state of one device (for a request whose answer
// was lost: no request id to ask about).
func (c *conn) deviceState(ctx context.Context, account string, id models.DeviceID) (string, bool, error) {
	req := thingspace.ListDevicesRequest{AccountName: account, DeviceID: &thingspace.DeviceID{Kind: id.Kind, ID: id.ID}}
	res, err := c.client.ListDevices(upstream.WithWho(ctx, c.who), c.cred, req)
	if err != nil || len(res.Devices) != 1 {
		return "", false, err
	}
	return res.Devices[0].State(), true, nil
}

// listenerAAD binds a department's sealed listener password to its row.
func listenerAAD(departmentID int64) []byte { return secret.AAD("callback-listener", departmentID) }
