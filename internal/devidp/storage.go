package devidp

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

const (
	// authRequestLifetime bounds the time a person may spend on the
	// sign-in page.
	authRequestLifetime = 10 * time.Minute
	// codeLifetime is short because the relying party redeems the code
	// immediately (RFC 6749 recommends at most ten minutes).
	codeLifetime        = time.Minute
	accessTokenLifetime = 15 * time.Minute
	idTokenLifetime     = 15 * time.Minute

	scopeGroups = "groups"
	claimGroups = "groups"
)

var (
	errUnknownRequest = errors.New("sign-in request unknown or expired")
	errUnknownUser    = errors.New("no such demo user")
	errUnknownClient  = errors.New("unknown client")
	errNotSupported   = errors.New("not supported by the development identity provider")
)

type codeEntry struct {
	requestID string
	expires   time.Time
}

// storage implements op.Storage in memory. One mutex guards everything: the
// load is a handful of developers and tests.
type storage struct {
	now    func() time.Time
	client *client
	secret string
	users  map[string]User
	key    *signingKey

	mu       sync.Mutex
	requests map[string]*authRequest
	codes    map[string]codeEntry
	tokens   map[string]accessToken
}

var (
	_ op.Storage                   = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest = (*storage)(nil)
)

// CreateAuthRequest stores a validated authorization request. It insists on
// PKCE with S256 and a nonce, as the portal's design does, so a relying
// party that forgets either fails here rather than in production.
func (s *storage) CreateAuthRequest(_ context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	if req.CodeChallenge == "" || req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE with code_challenge_method=S256 is required")
	}
	if req.Nonce == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("nonce is required")
	}
	// There is no IdP session to reuse, so a silent sign-in cannot succeed.
	if len(req.Prompt) == 1 && req.Prompt[0] == oidc.PromptNone {
		return nil, oidc.ErrLoginRequired()
	}
	now := s.now()
	ar := &authRequest{
		id:           rand.Text(),
		created:      now,
		clientID:     req.ClientID,
		redirectURI:  req.RedirectURI,
		state:        req.State,
		nonce:        req.Nonce,
		scopes:       req.Scopes,
		responseType: req.ResponseType,
		responseMode: req.ResponseMode,
		codeChallenge: &oidc.CodeChallenge{
			Challenge: req.CodeChallenge,
			Method:    req.CodeChallengeMethod,
		},
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	s.requests[ar.id] = ar
	return cloneRequest(ar), nil
}

// sweep drops expired entries so a long-running devidp does not grow.
// The caller holds s.mu.
func (s *storage) sweep(now time.Time) {
	for id, ar := range s.requests {
		if now.Sub(ar.created) > authRequestLifetime {
			delete(s.requests, id)
		}
	}
	for code, c := range s.codes {
		if now.After(c.expires) {
			delete(s.codes, code)
		}
	}
	for id, t := range s.tokens {
		if now.After(t.expires) {
			delete(s.tokens, id)
		}
	}
}

// request returns the live request with id; the caller holds s.mu.
func (s *storage) request(id string) (*authRequest, error) {
	ar, ok := s.requests[id]
	if !ok || s.now().Sub(ar.created) > authRequestLifetime {
		return nil, errUnknownRequest
	}
	return ar, nil
}

func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ar, err := s.request(id)
	if err != nil {
		return nil, err
	}
	return cloneRequest(ar), nil
}

// AuthRequestByCode redeems a code: the code and its request are removed
// before the library checks the client or the PKCE verifier, so a code
// works at most once even when that first attempt fails (RFC 6749 4.1.2).
func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[code]
	delete(s.codes, code)
	if !ok || s.now().After(c.expires) {
		return nil, errors.New("code unknown, used or expired")
	}
	ar, err := s.request(c.requestID)
	delete(s.requests, c.requestID)
	if err != nil {
		return nil, err
	}
	return cloneRequest(ar), nil
}

// SaveAuthCode allows one code per request, so reloading the callback URL
// cannot mint a second code for the same sign-in.
func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ar, err := s.request(id)
	if err != nil {
		return err
	}
	if !ar.done || ar.hasCode {
		return errors.New("sign-in not completed or code already issued")
	}
	ar.hasCode = true
	s.codes[code] = codeEntry{requestID: id, expires: s.now().Add(codeLifetime)}
	return nil
}

func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.requests, id)
	for code, c := range s.codes {
		if c.requestID == id {
			delete(s.codes, code)
		}
	}
	return nil
}

// pending reports whether request id awaits sign-in.
func (s *storage) pending(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.request(id)
	return err
}

// completeLogin records that the person picked subject for request id.
// A request is signed in once: picking another user after the code was
// issued (back button) must not change whom the code stands for.
func (s *storage) completeLogin(id, subject string) error {
	if _, ok := s.users[subject]; !ok {
		return fmt.Errorf("%w %q", errUnknownUser, subject)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ar, err := s.request(id)
	if err != nil {
		return err
	}
	if ar.done {
		return errors.New("this sign-in request is already complete")
	}
	ar.subject, ar.authTime, ar.done = subject, s.now(), true
	return nil
}

func (s *storage) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	clientID := s.client.id
	if ar, ok := req.(*authRequest); ok {
		clientID = ar.clientID
	}
	id := rand.Text()
	t := accessToken{
		subject:  req.GetSubject(),
		clientID: clientID,
		scopes:   req.GetScopes(),
		expires:  s.now().Add(accessTokenLifetime),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[id] = t
	return id, t.expires, nil
}

// Refresh tokens are not offered: the portal keeps its own sessions and
// reads the ID token only at sign-in.
func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, fmt.Errorf("refresh tokens: %w", errNotSupported)
}

func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, fmt.Errorf("refresh tokens: %w", errNotSupported)
}

func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

// TerminateSession is end_session: without an IdP session cookie, signing
// out means revoking the user's access tokens for the client.
func (s *storage) TerminateSession(_ context.Context, userID, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, t := range s.tokens {
		if t.subject == userID && t.clientID == clientID {
			delete(s.tokens, id)
		}
	}
	return nil
}

func (s *storage) RevokeToken(_ context.Context, tokenOrID, _, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tokenOrID]
	if !ok {
		return nil // unknown tokens are already as revoked as they get (RFC 7009)
	}
	if t.clientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("token was not issued to this client")
	}
	delete(s.tokens, tokenOrID)
	return nil
}

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return s.key, nil }

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{publicKey{s.key}}, nil
}

func (s *storage) GetClientByClientID(_ context.Context, clientID string) (op.Client, error) {
	if clientID != s.client.id {
		return nil, fmt.Errorf("%w %q", errUnknownClient, clientID)
	}
	return s.client, nil
}

func (s *storage) AuthorizeClientIDSecret(_ context.Context, clientID, secret string) error {
	okID := subtle.ConstantTimeCompare([]byte(clientID), []byte(s.client.id))
	okSecret := subtle.ConstantTimeCompare([]byte(secret), []byte(s.secret))
	if okID&okSecret != 1 {
		return errors.New("client ID or secret wrong") // never echo the secret
	}
	return nil
}

func (s *storage) Health(context.Context) error { return nil }
