package gateway

import (
	"errors"
	"net/http"
	"strings"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

// The token endpoint answers errors as an OAuth 2 authorization server
// does (RFC 6749 section 5.2), as ThingSpace's does and as Verizon's SDKs
// expect: {"error","error_description"} with 400, or 401 for a client that
// failed to authenticate, which the SDKs raise as their OAuth provider
// error. Only throttling (429) and the portal's own failures (5xx) keep the
// gateway's shapes.
const (
	oauthInvalidClient        = "invalid_client"
	oauthInvalidRequest       = "invalid_request"
	oauthUnsupportedGrantType = "unsupported_grant_type"
)

var errGrantMissing = m2m(http.StatusBadRequest, "INPUT_INVALID.GrantType", "grant_type is required, once.", "grant_type_missing")

// token answers POST /api/ts/v1/oauth2/token.
func (s *Service) token(q *request) error {
	return asOAuth(s.grant(q))
}

// asOAuth turns the token endpoint's refusals into OAuth errors, keeping
// their reasons for the audit trail and the metrics.
func asOAuth(err error) error {
	var ref *refusal
	if !errors.As(err, &ref) {
		return err
	}
	out := *ref
	out.fault, out.code = 0, ""
	switch {
	case ref.status == http.StatusUnauthorized:
		out.oauth, out.message = oauthInvalidClient, "Client authentication failed."
	case ref == errGrant:
		out.oauth, out.message = oauthUnsupportedGrantType, "grant_type must be client_credentials."
	case ref.status >= 400 && ref.status < 500 && ref.status != http.StatusTooManyRequests:
		out.status, out.oauth = http.StatusBadRequest, oauthInvalidRequest
	default:
		return err
	}
	return &out
}

// grant is the OAuth client-credentials grant with the client's ID and
// secret.
func (s *Service) grant(q *request) error {
	id, secret, ok := q.r.BasicAuth()
	if !ok {
		return errMissing
	}
	if !hasType(q.r, "application/x-www-form-urlencoded") {
		return errFormType
	}
	if _, err := s.body(q); err != nil {
		return err
	}
	switch grant := q.r.PostForm["grant_type"]; {
	case len(grant) != 1:
		return errGrantMissing
	case grant[0] != "client_credentials":
		return errGrant
	}
	if err := s.client(q, id, secret); err != nil {
		return err
	}
	if err := s.admit(q); err != nil {
		return err
	}
	s.sweep(q.r.Context())
	tok := newSecret()
	expires := earliest(s.now().Add(BearerLifetime), q.notAfter)
	if err := s.db.PutGatewayToken(q.r.Context(), hash(tok), q.client.ID, store.TokenBearer, expires, q.notAfter, s.now()); err != nil {
		return err
	}
	s.audit(q, models.EvGatewayToken, models.OutcomeSuccess, "result", "issued")
	writeJSON(q.w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer",
		"expires_in": int(expires.Sub(s.now()).Seconds()), "scope": strings.Join(models.OpNames(q.client.Effective()), " ")})
	s.count(q, http.StatusOK)
	return nil
}
