package web

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"

	people "github.com/uwsportal/uwsportal/internal/identity"
	"github.com/uwsportal/uwsportal/internal/sso"
	"github.com/uwsportal/uwsportal/models"
)

// Session keys for re-reading a person's groups from the IdP.
const (
	keyIdPTokens = "idp" // sealed refresh and access tokens; never logged
	keySubject   = "sub"
	keyGroupsAt  = "groups_at" // unix seconds of the last read
)

// refreshRetry spaces out attempts while the IdP cannot be reached.
const refreshRetry = time.Minute

var tokensAAD = []byte("session-idp-tokens:v1")

// keepIdPTokens keeps, sealed in the server-side session, what the portal
// needs to re-read the person's groups later.
func (s *Server) keepIdPTokens(c echo.Context, subject string, tok *oauth2.Token) error {
	ctx := c.Request().Context()
	b, err := json.Marshal(sso.Tokens{Refresh: tok.RefreshToken, Access: tok.AccessToken})
	if err != nil {
		return err
	}
	keyID, ct, err := s.tokenKeys.Seal(b, tokensAAD)
	if err != nil {
		return err
	}
	s.sessions.Put(ctx, keyIdPTokens, keyID+"."+string(ct))
	s.sessions.Put(ctx, keySubject, subject)
	s.sessions.Put(ctx, keyGroupsAt, s.now().Unix())
	return nil
}

// refreshGroupsIfDue re-reads a signed-in person's groups from the IdP once
// per UWSPORTAL_GROUPS_REFRESH. It returns a reason to end the session when
// the IdP refuses, and the person with their grants as they stand now. An
// unreachable IdP keeps the session (sessions outlive IdP outages) and is
// tried again a minute later.
func (s *Server) refreshGroupsIfDue(c echo.Context, uid int64, p *models.Principal) (string, *models.Principal, error) {
	ctx := c.Request().Context()
	at := s.sessions.GetInt64(ctx, keyGroupsAt)
	if at == 0 || s.oidc == nil || s.now().Sub(time.Unix(at, 0)) < s.cfg.GroupsRefresh {
		return "", p, nil // not an SSO session, or not yet due
	}
	toks, err := s.sessionTokens(ctx)
	if err != nil {
		return "groups could not be re-read", p, nil
	}
	groups, err := s.oidc.CurrentGroups(ctx, s.sessions.GetString(ctx, keySubject), &toks)
	switch {
	case errors.Is(err, sso.ErrRefused):
		s.log.Info("groups refresh refused; ending the session", "err", err, "request_id", requestID(c))
		return "the identity provider no longer confirms your access", p, nil
	case err != nil:
		s.log.Warn("groups refresh failed; keeping the session and trying again", "err", err, "request_id", requestID(c))
		s.sessions.Put(ctx, keyGroupsAt, s.now().Add(refreshRetry-s.cfg.GroupsRefresh).Unix())
		return "", p, nil
	}
	np, err := s.people.RefreshGroups(ctx, uid, groups, meta(c))
	if errors.Is(err, people.ErrUserDisabled) {
		return "user disabled", p, nil
	}
	if err != nil {
		return "", nil, err
	}
	b, err := json.Marshal(toks)
	if err != nil {
		return "", nil, err
	}
	keyID, ct, err := s.tokenKeys.Seal(b, tokensAAD)
	if err != nil {
		return "", nil, err
	}
	s.sessions.Put(ctx, keyIdPTokens, keyID+"."+string(ct))
	s.sessions.Put(ctx, keyGroupsAt, s.now().Unix())
	return "", np, nil
}

func (s *Server) sessionTokens(ctx context.Context) (sso.Tokens, error) {
	var t sso.Tokens
	keyID, ct, ok := strings.Cut(s.sessions.GetString(ctx, keyIdPTokens), ".")
	if !ok {
		return t, errors.New("no IdP tokens in the session")
	}
	plain, err := s.tokenKeys.Open(keyID, []byte(ct), tokensAAD)
	if err != nil {
		return t, err
	}
	return t, json.Unmarshal(plain, &t)
}
