package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
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

// oidcClient talks to the identity provider. Discovery is lazy and retried,
// so the portal starts (and existing sessions keep working) while the IdP
// is down.
type oidcClient struct {
	cfg  *config.Config
	log  *slog.Logger
	http *http.Client

	mu         sync.Mutex
	provider   *oidc.Provider
	verifier   *oidc.IDTokenVerifier
	oauth      oauth2.Config
	endSession string
}

func newOIDCClient(cfg *config.Config, log *slog.Logger) *oidcClient {
	return &oidcClient{cfg: cfg, log: log, http: &http.Client{Timeout: 10 * time.Second}}
}

// errIdPUnreachable means discovery failed: the IdP is down or misconfigured.
var errIdPUnreachable = errors.New("identity provider unreachable")

func (o *oidcClient) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, o.http)
}

func (o *oidcClient) ready(ctx context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return nil
	}
	p, err := oidc.NewProvider(o.ctx(ctx), o.cfg.OIDCIssuer)
	if err != nil {
		o.log.Warn("oidc discovery failed", "issuer", o.cfg.OIDCIssuer, "err", err)
		return fmt.Errorf("%w: %v", errIdPUnreachable, err)
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

// authState is what the pre-sign-in cookie carries between /auth/login and
// /auth/callback, sealed with the master key so any instance can read it.
type authState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"r"`
	Expires  int64  `json:"e"`
}

const authCookie = "uwsportal_auth"

// authStateTTL bounds how long a sign-in may take at the IdP.
const authStateTTL = 10 * time.Minute

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// identity is what the callback learned from the ID token (and userinfo).
type identity struct {
	Subject, Name, Email string
	Groups               []string
}

// exchange trades the code for tokens and verifies the ID token: issuer,
// audience, expiry and signature (go-oidc), then the nonce.
func (o *oidcClient) exchange(ctx context.Context, code string, st authState) (identity, *oauth2.Token, string, error) {
	tok, err := o.oauth.Exchange(o.ctx(ctx), code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return identity{}, nil, "", fmt.Errorf("code exchange: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return identity{}, nil, "", errors.New("no id_token in the token response")
	}
	idt, err := o.verifier.Verify(o.ctx(ctx), raw)
	if err != nil {
		return identity{}, nil, "", fmt.Errorf("id token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1 {
		return identity{}, nil, "", errors.New("id token: nonce mismatch")
	}
	id, err := o.identityOf(ctx, idt, tok)
	return id, tok, raw, err
}

// identityOf reads the person from a verified ID token, and from userinfo
// when the token carries no groups. Userinfo must speak of the same
// subject: an answer about someone else is refused, not merged.
func (o *oidcClient) identityOf(ctx context.Context, idt *oidc.IDToken, tok *oauth2.Token) (identity, error) {
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return identity{}, fmt.Errorf("id token claims: %w", err)
	}
	id := identity{Subject: idt.Subject, Name: str(claims["name"]), Email: str(claims["email"])}
	groups, found := groupList(claims[o.cfg.OIDCGroupsClaim])
	if !found {
		// Some IdPs put groups only in userinfo.
		ui, err := o.provider.UserInfo(o.ctx(ctx), oauth2.StaticTokenSource(tok))
		if err == nil {
			if ui.Subject != idt.Subject {
				return identity{}, errors.New("userinfo: subject differs from the id token's")
			}
			var uc map[string]any
			if ui.Claims(&uc) == nil {
				groups, _ = groupList(uc[o.cfg.OIDCGroupsClaim])
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

func groupList(v any) ([]string, bool) {
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

func marshalState(st authState) []byte {
	b, _ := json.Marshal(st)
	return b
}
