// Package devidp is a development OpenID Connect provider with demo users.
//
// It wraps the provider of github.com/zitadel/oidc/v3/pkg/op with an
// in-memory storage and a password-less sign-in page, so that the portal can
// be run, demonstrated and tested end to end without a corporate IdP. It
// refuses to run on anything but a loopback issuer: it signs anyone in as
// anyone and must never face a network.
package devidp

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Config configures the provider and its single registered client.
type Config struct {
	// Issuer is the provider's base URL, e.g. http://127.0.0.1:9091. Its
	// host must be loopback.
	Issuer string
	// ClientID and ClientSecret identify the one confidential client (the
	// portal); the token endpoint accepts client_secret_basic and
	// client_secret_post.
	ClientID, ClientSecret string
	// RedirectURIs are the exact redirect URIs the client may use.
	RedirectURIs []string
	// PostLogoutRedirectURIs are where end_session may send the browser.
	PostLogoutRedirectURIs []string
	// Users who can sign in; DefaultUsers() when empty.
	Users []User
	// Now is the clock for auth requests, codes and access tokens;
	// time.Now when nil. ID token iat/exp come from the library's own
	// time.Now and do not follow it.
	Now func() time.Time
}

// User is a demo identity. Groups are always sent as the "groups" claim.
type User struct {
	Subject string
	Name    string
	Email   string
	Groups  []string
}

// DefaultUsers returns the demo users: one per portal role plus one whose
// groups map to nothing (to exercise the "no access yet" page).
func DefaultUsers() []User {
	return []User{
		{Subject: "alice", Name: "Alice Admin", Email: "alice@example.com", Groups: []string{"uwsportal-admins"}},
		{Subject: "oscar", Name: "Oscar Auditor", Email: "oscar@example.com", Groups: []string{"uwsportal-auditors"}},
		{Subject: "lena", Name: "Lena Lead (fleet)", Email: "lena@example.com", Groups: []string{"fleet-leads"}},
		{Subject: "mike", Name: "Mike Member (fleet)", Email: "mike@example.com", Groups: []string{"fleet-members"}},
		{Subject: "fiona", Name: "Fiona Lead (field-ops)", Email: "fiona@example.com", Groups: []string{"field-ops-leads"}},
		{Subject: "nora", Name: "Nora NoGroups", Email: "nora@example.com", Groups: []string{}},
	}
}

// LoopbackHost reports whether host (a hostname or IP, without port) is
// localhost or in 127.0.0.0/8 or ::1.
func LoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// normalize checks cfg and fills defaults, returning a copy that shares no
// slices with the caller.
func (cfg Config) normalize() (Config, error) {
	var errs []error
	u, err := url.Parse(cfg.Issuer)
	switch {
	case err != nil || cfg.Issuer == "":
		errs = append(errs, fmt.Errorf("issuer %q is not a URL", cfg.Issuer))
	case u.Scheme != "http" && u.Scheme != "https":
		errs = append(errs, fmt.Errorf("issuer %q must be http or https", cfg.Issuer))
	case !LoopbackHost(u.Hostname()):
		errs = append(errs, fmt.Errorf("issuer %q is not on a loopback host (127.0.0.0/8, ::1, localhost): the development identity provider signs anyone in and must never be reachable from a network", cfg.Issuer))
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		errs = append(errs, fmt.Errorf("issuer %q must not have a query, fragment or user info", cfg.Issuer))
	}
	if cfg.ClientID == "" {
		errs = append(errs, errors.New("client ID is empty"))
	}
	if cfg.ClientSecret == "" {
		errs = append(errs, errors.New("client secret is empty"))
	}
	if len(cfg.RedirectURIs) == 0 {
		errs = append(errs, errors.New("no redirect URI"))
	}
	for _, raw := range slices.Concat(cfg.RedirectURIs, cfg.PostLogoutRedirectURIs) {
		if r, err := url.Parse(raw); err != nil || !r.IsAbs() || r.Fragment != "" {
			errs = append(errs, fmt.Errorf("redirect URI %q must be an absolute URL without fragment", raw))
		}
	}
	if len(cfg.Users) == 0 {
		cfg.Users = DefaultUsers()
	}
	users := make([]User, 0, len(cfg.Users))
	seen := map[string]bool{}
	for _, usr := range cfg.Users {
		if usr.Subject == "" || seen[usr.Subject] {
			errs = append(errs, fmt.Errorf("user subject %q is empty or repeated", usr.Subject))
		}
		seen[usr.Subject] = true
		// A non-nil slice so that a user without groups gets "groups": [],
		// not a missing claim.
		usr.Groups = append([]string{}, usr.Groups...)
		users = append(users, usr)
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("devidp: %w", err)
	}
	cfg.Issuer = strings.TrimSuffix(cfg.Issuer, "/")
	cfg.Users = users
	cfg.RedirectURIs = slices.Clone(cfg.RedirectURIs)
	cfg.PostLogoutRedirectURIs = slices.Clone(cfg.PostLogoutRedirectURIs)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg, nil
}
