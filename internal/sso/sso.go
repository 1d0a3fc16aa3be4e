// Package sso is the portal's OpenID Connect relying party: discovery,
// the authorization code flow's exchange and ID token verification, and
// re-reading a signed-in person's groups. The composition root builds one
// Client; the web layer keeps the browser's side (state cookie, session).
package sso

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/uwsportal/uwsportal/internal/config"
)

// Client talks to the Identity provider. Discovery is lazy and retried,
// so the portal starts (and existing sessions keep working) while the IdP
// is down.
type Client struct {
	cfg  *config.Config
	log  *slog.Logger
	http *http.Client

	mu         sync.Mutex
	provider   *oidc.Provider
	verifier   *oidc.IDTokenVerifier
	oauth      oauth2.Config
	endSession string
}

// New is the client for cfg's Identity provider (discovery waits for
// the first sign-in).
func New(cfg *config.Config, log *slog.Logger) *Client {
	return &Client{cfg: cfg, log: log, http: &http.Client{Timeout: 10 * time.Second}}
}

// ErrUnreachable means discovery failed: the IdP is down or misconfigured.
var ErrUnreachable = errors.New("Identity provider unreachable")

func (o *Client) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, o.http)
}

// Ready discovers the provider once it answers.
func (o *Client) Ready(ctx context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return nil
	}
	p, err := oidc.NewProvider(o.ctx(ctx), o.cfg.OIDCIssuer)
	if err != nil {
		o.log.Warn("oidc discovery failed", "issuer", o.cfg.OIDCIssuer, "err", err)
		return fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	var extra struct {
		EndSession string `json:"end_session_endpoint"`
	}
	_ = p.Claims(&extra)
	scopes := o.cfg.OIDCScopes
	if !contains(scopes, oidc.ScopeOpenID) {
		scopes = append([]string{oidc.ScopeOpenID}, scopes...)
	}
	o.provider, o.endSession = p, extra.EndSession
	o.verifier = p.Verifier(&oidc.Config{ClientID: o.cfg.OIDCClientID})
	o.oauth = oauth2.Config{
		ClientID: o.cfg.OIDCClientID, ClientSecret: o.cfg.OIDCClientSecret,
		Endpoint: p.Endpoint(), RedirectURL: o.cfg.BaseURL.String() + "/auth/callback", Scopes: scopes,
	}
	return nil
}

// Identity is what a sign-in learned from the ID token (and userinfo).
type Identity struct {
	Subject, Name, Email string
	Groups               []string
}

// exchange trades the code for tokens and verifies the ID token: issuer,
// audience, expiry and signature (go-oidc), then the nonce.
// Exchange trades the code for tokens with the PKCE verifier and verifies
// the ID token (issuer, audience, expiry, signature) and its nonce.
func (o *Client) Exchange(ctx context.Context, code, verifier, nonce string) (Identity, *oauth2.Token, string, error) {
	tok, err := o.oauth.Exchange(o.ctx(ctx), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return Identity{}, nil, "", fmt.Errorf("code exchange: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, nil, "", errors.New("no id_token in the token response")
	}
	idt, err := o.verifier.Verify(o.ctx(ctx), raw)
	if err != nil {
		return Identity{}, nil, "", fmt.Errorf("id token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return Identity{}, nil, "", errors.New("id token: nonce mismatch")
	}
	id, err := o.identityOf(ctx, idt, tok)
	return id, tok, raw, err
}

// identityOf reads the person from a verified ID token, and from userinfo
// when the token carries no groups. Userinfo must speak of the same
// subject: an answer about someone else is refused, not merged.
func (o *Client) identityOf(ctx context.Context, idt *oidc.IDToken, tok *oauth2.Token) (Identity, error) {
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, fmt.Errorf("id token claims: %w", err)
	}
	id := Identity{Subject: idt.Subject, Name: str(claims["name"]), Email: str(claims["email"])}
	groups, found := GroupList(claims[o.cfg.OIDCGroupsClaim])
	if !found {
		// Some IdPs put groups only in userinfo.
		ui, err := o.provider.UserInfo(o.ctx(ctx), oauth2.StaticTokenSource(tok))
		if err == nil {
			if ui.Subject != idt.Subject {
				return Identity{}, errors.New("userinfo: subject differs from the id token's")
			}
			var uc map[string]any
			if ui.Claims(&uc) == nil {
				groups, _ = GroupList(uc[o.cfg.OIDCGroupsClaim])
				if id.Name == "" {
					id.Name = str(uc["name"])
				}
				if id.Email == "" {
					id.Email = ui.Email
				}
			}
		} else {
			o.log.Warn("userinfo failed; signing in with no groups", "err", err)
		}
	}
	id.Groups = groups
	if id.Name == "" {
		id.Name = str(claims["preferred_username"])
	}
	return id, nil
}

// GroupList reads a groups claim: a list, or one string as one group.
func GroupList(v any) ([]string, bool) {
	switch x := v.(type) {
	case []any:
		out := make([]string, 0, len(x))
		for _, g := range x {
			if s, ok := g.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out, true
	case string:
		// One string is one group: "Fleet Leads" is a single group name
		// (splitting it on spaces would grant "Fleet" and "Leads").
		if x = strings.TrimSpace(x); x == "" {
			return []string{}, true
		}
		return []string{x}, true
	}
	return []string{}, false
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// CurrentGroups asks the IdP for the person's groups now: with the refresh
// token when there is one (a new ID token, same subject), else userinfo
// with the access token. toks is updated with any rotated tokens.
func (o *Client) CurrentGroups(ctx context.Context, subject string, toks *Tokens) ([]string, error) {
	if err := o.Ready(ctx); err != nil {
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
				return nil, fmt.Errorf("%w: refreshed id token: %v", ErrRefused, err)
			}
			if idt.Subject != subject {
				return nil, fmt.Errorf("%w: refreshed id token names another subject", ErrRefused)
			}
			var claims map[string]any
			if err := idt.Claims(&claims); err != nil {
				return nil, err
			}
			if groups, found := GroupList(claims[o.cfg.OIDCGroupsClaim]); found {
				return groups, nil
			}
		}
	}
	if tok.AccessToken == "" {
		return nil, fmt.Errorf("%w: no token to ask with", ErrRefused)
	}
	ui, err := o.provider.UserInfo(o.ctx(ctx), oauth2.StaticTokenSource(tok))
	if err != nil {
		return nil, classifyIdPError(err)
	}
	if ui.Subject != subject {
		return nil, fmt.Errorf("%w: userinfo names another subject", ErrRefused)
	}
	var uc map[string]any
	if err := ui.Claims(&uc); err != nil {
		return nil, err
	}
	groups, _ := GroupList(uc[o.cfg.OIDCGroupsClaim])
	return groups, nil
}

// classifyIdPError tells a refusal (a 4xx answer) from an outage.
func classifyIdPError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode >= 400 && re.Response.StatusCode < 500 {
		return fmt.Errorf("%w: %v", ErrRefused, err)
	}
	// go-oidc's userinfo error starts with the HTTP status.
	if msg := err.Error(); strings.HasPrefix(msg, "401") || strings.HasPrefix(msg, "403") {
		return fmt.Errorf("%w: %v", ErrRefused, err)
	}
	return err
}

// ErrRefused means the IdP answered and would not vouch for the person
// any more (refresh token revoked, user removed): the session ends.
var ErrRefused = errors.New("the Identity provider no longer vouches for this person")

// Tokens are what the portal keeps (sealed, in the server-side session) to
// re-read a person's groups later.
type Tokens struct {
	Refresh string `json:"r,omitempty"`
	Access  string `json:"a,omitempty"`
}

// AuthCodeURL is where a sign-in sends the browser: PKCE (S256) and the
// nonce. Call Ready first.
func (o *Client) AuthCodeURL(state, verifier, nonce string) string {
	return o.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", nonce))
}

// EndSession is the provider's RP-initiated logout endpoint ("" if none).
// Call Ready first.
func (o *Client) EndSession() string { return o.endSession }
