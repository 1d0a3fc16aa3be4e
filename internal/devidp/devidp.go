package devidp

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// Paths of devidp's own pages, below the issuer's path. The OIDC endpoints
// are the library's defaults (/authorize, /oauth/token, /userinfo,
// /end_session, /keys, …) as advertised in the discovery document.
const (
	pathLogin     = "/login"
	pathLoggedOut = "/logged-out"
)

// New returns the provider's HTTP handler, to be served at cfg.Issuer. It
// generates a fresh RSA signing key, so tokens from an earlier process do
// not verify.
func New(cfg Config) (http.Handler, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("devidp: generate signing key: %w", err)
	}
	// The issuer may carry a path; the library builds absolute endpoint URLs
	// from the issuer but routes relative to its own root, hence StripPrefix.
	u, _ := url.Parse(cfg.Issuer) // validated by normalize
	prefix := u.Path
	users := make(map[string]User, len(cfg.Users))
	for _, usr := range cfg.Users {
		users[usr.Subject] = usr
	}
	st := &storage{
		now: cfg.Now,
		client: &client{
			id:                     cfg.ClientID,
			redirectURIs:           cfg.RedirectURIs,
			postLogoutRedirectURIs: cfg.PostLogoutRedirectURIs,
			loginPath:              prefix + pathLogin,
		},
		secret:   cfg.ClientSecret,
		users:    users,
		key:      &signingKey{id: rand.Text(), key: rsaKey},
		requests: map[string]*authRequest{},
		codes:    map[string]codeEntry{},
		tokens:   map[string]accessToken{},
	}
	var cryptoKey [32]byte // encrypts codes and opaque access tokens
	_, _ = rand.Read(cryptoKey[:])
	provider, err := op.NewProvider(&op.Config{
		CryptoKey:                cryptoKey,
		CryptoKeyId:              rand.Text(),
		DefaultLogoutRedirectURI: prefix + pathLoggedOut,
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		SupportedUILocales:       []language.Tag{language.English},
		// Only what the client can use: no phone, address or offline_access.
		SupportedScopes: []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, scopeGroups},
		SupportedClaims: append(slices.Clone(op.DefaultSupportedClaims), claimGroups),
	}, st, op.StaticIssuer(cfg.Issuer),
		// http issuers are refused unless allowed; normalize already
		// confined the issuer to loopback.
		op.WithAllowInsecure(),
	)
	if err != nil {
		return nil, fmt.Errorf("devidp: create provider: %w", err)
	}
	pages := &pages{
		store:    st,
		users:    cfg.Users,
		clientID: cfg.ClientID,
		action:   prefix + pathLogin,
		callback: func(r *http.Request, id string) string {
			ctx := op.ContextWithIssuer(r.Context(), cfg.Issuer)
			return op.AuthCallbackURL(provider)(ctx, id)
		},
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+pathLogin, pageHeaders(http.HandlerFunc(pages.showLogin)))
	mux.Handle("POST "+pathLogin, pageHeaders(http.HandlerFunc(pages.submitLogin)))
	mux.Handle("GET "+pathLoggedOut, pageHeaders(http.HandlerFunc(pages.loggedOut)))
	mux.Handle("GET /{$}", pageHeaders(http.HandlerFunc(pages.index)))
	mux.Handle("/", provider)
	if prefix == "" {
		return mux, nil
	}
	return http.StripPrefix(prefix, mux), nil
}
