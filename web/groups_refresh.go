package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"

	people "github.com/uwsportal/uwsportal/internal/identity"
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

type idpTokens struct {
	Refresh string `json:"r,omitempty"`
	Access  string `json:"a,omitempty"`
}

// keepIdPTokens keeps, sealed in the server-side session, what the portal
// needs to re-read the person's groups later.
func (s *Server) keepIdPTokens(c echo.Context, subject string, tok *oauth2.Token) error {
	ctx := c.Request().Context()
	b, err := json.Marshal(idpTokens{Refresh: tok.RefreshToken, Access: tok.AccessToken})
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

// errIdPRefused means the IdP answered and would not vouch for the person
// any more (refresh token revoked, user removed): the session ends.
var errIdPRefused = errors.New("the identity provider no longer vouches for this person")

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
	groups, err := s.oidc.currentGroups(ctx, s.sessions.GetString(ctx, keySubject), &toks)
	switch {
	case errors.Is(err, errIdPRefused):
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

func (s *Server) sessionTokens(ctx context.Context) (idpTokens, error) {
	var t idpTokens
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

// currentGroups asks the IdP for the person's groups now: with the refresh
// token when there is one (a new ID token, same subject), else userinfo
// with the access token. toks is updated with any rotated tokens.
func (o *oidcClient) currentGroups(ctx context.Context, subject string, toks *idpTokens) ([]string, error) {
	if err := o.ready(ctx); err != nil {
		return nil, err
	}
	tok := &oauth2.Token{AccessToken: toks.Access, TokenType: "Bearer"}
	if toks.Refresh != "" {
		nt, err := o.oauth.TokenSource(o.ctx(ctx), &oauth2.Token{RefreshToken: toks.Refresh, Expiry: time.Unix(1, 0)}).Token()
		if err != nil {
			return nil, classifyIdPError(err)
		}
		tok = nt
		toks.Access = nt.AccessToken
		if nt.RefreshToken != "" {
			toks.Refresh = nt.RefreshToken
		}
		if raw, _ := nt.Extra("id_token").(string); raw != "" {
			idt, err := o.verifier.Verify(o.ctx(ctx), raw)
			if err != nil {
				return nil, fmt.Errorf("%w: refreshed id token: %v", errIdPRefused, err)
			}
			if idt.Subject != subject {
				return nil, fmt.Errorf("%w: refreshed id token names another subject", errIdPRefused)
			}
			var claims map[string]any
			if err := idt.Claims(&claims); err != nil {
				return nil, err
			}
			if groups, found := groupList(claims[o.cfg.OIDCGroupsClaim]); found {
				return groups, nil
			}
		}
	}
	if tok.AccessToken == "" {
		return nil, fmt.Errorf("%w: no token to ask with", errIdPRefused)
	}
	ui, err := o.provider.UserInfo(o.ctx(ctx), oauth2.StaticTokenSource(tok))
	if err != nil {
		return nil, classifyIdPError(err)
	}
	if ui.Subject != subject {
		return nil, fmt.Errorf("%w: userinfo names another subject", errIdPRefused)
	}
	var uc map[string]any
	if err := ui.Claims(&uc); err != nil {
		return nil, err
	}
	groups, _ := groupList(uc[o.cfg.OIDCGroupsClaim])
	return groups, nil
}

// classifyIdPError tells a refusal (a 4xx answer) from an outage.
func classifyIdPError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode >= 400 && re.Response.StatusCode < 500 {
		return fmt.Errorf("%w: %v", errIdPRefused, err)
	}
	// go-oidc's userinfo error starts with the HTTP status.
	if msg := err.Error(); strings.HasPrefix(msg, "401") || strings.HasPrefix(msg, "403") {
		return fmt.Errorf("%w: %v", errIdPRefused, err)
	}
	return err
}
