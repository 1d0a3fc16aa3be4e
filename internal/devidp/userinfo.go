package devidp

import (
	"context"
	"errors"
	"fmt"
	"slices"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// setUserinfo fills the claims for subject. Profile and email follow their
// scopes; groups are always sent, because the portal derives every role
// from them and an omitted claim would look like "no groups".
func (s *storage) setUserinfo(info *oidc.UserInfo, subject string, scopes []string) error {
	usr, ok := s.users[subject]
	if !ok {
		return fmt.Errorf("%w %q", errUnknownUser, subject)
	}
	info.Subject = usr.Subject
	if slices.Contains(scopes, oidc.ScopeProfile) {
		info.Name = usr.Name
		info.PreferredUsername = usr.Subject
	}
	if slices.Contains(scopes, oidc.ScopeEmail) {
		info.Email = usr.Email
		info.EmailVerified = true
	}
	info.AppendClaims(claimGroups, slices.Clone(usr.Groups))
	return nil
}

// SetUserinfoFromRequest feeds the ID token.
func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	return s.setUserinfo(info, req.GetSubject(), scopes)
}

// SetUserinfoFromScopes is deprecated by the library in favour of
// SetUserinfoFromRequest, which it calls right after.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromToken feeds the userinfo endpoint.
func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, _, _ string) error {
	t, err := s.liveToken(tokenID)
	if err != nil {
		return err
	}
	return s.setUserinfo(info, t.subject, t.scopes)
}

func (s *storage) SetIntrospectionFromToken(_ context.Context, resp *oidc.IntrospectionResponse, tokenID, _, clientID string) error {
	t, err := s.liveToken(tokenID)
	if err != nil {
		return err
	}
	if t.clientID != clientID {
		return errors.New("token was not issued to this client")
	}
	info := new(oidc.UserInfo)
	if err := s.setUserinfo(info, t.subject, t.scopes); err != nil {
		return err
	}
	resp.SetUserInfo(info)
	resp.Scope = t.scopes
	resp.ClientID = t.clientID
	resp.Expiration = oidc.FromTime(t.expires)
	return nil
}

func (s *storage) liveToken(id string) (accessToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[id]
	if !ok || s.now().After(t.expires) {
		return accessToken{}, errors.New("access token unknown, revoked or expired")
	}
	return t, nil
}

// Access tokens are opaque, so no private claims go into a JWT.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// The JWT profile grant and private_key_jwt are not offered.
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, fmt.Errorf("client keys: %w", errNotSupported)
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, fmt.Errorf("JWT profile grant: %w", errNotSupported)
}
