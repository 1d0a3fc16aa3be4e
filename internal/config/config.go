// Package config reads uwsportal's configuration from the environment and
// validates all of it at once, so an operator sees every problem in one
// error. Variable names are an interface (docs/design.md, README): keep them.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/uwsportal/uwsportal/internal/secret"
)

// Config is the validated configuration. It holds no secret in a form that
// prints: secret values stay behind getenv until the component that needs
// them reads them.
type Config struct {
	DatabaseURL string // may be empty: the caller bootstraps a local database
	Addr        string
	BaseURL     *url.URL
	// CallbackURL is the portal's address as ThingSpace reaches it, for
	// its callbacks ("" : none, the portal polls request status instead).
	CallbackURL string
	MetricsAddr string // empty: /metrics on the main listener
	AutoMigrate bool
	LogLevel    string

	OIDCIssuer       string
	OIDCClientID     string
	OIDCClientSecret string
	OIDCGroupsClaim  string
	OIDCScopes       []string
	AdminGroups      []string

	SessionIdle     time.Duration
	SessionLifetime time.Duration
	// GroupsRefresh is how often a signed-in person's groups are re-read
	// from the IdP, so a person removed from a group loses access within it.
	GroupsRefresh   time.Duration
	ShutdownTimeout time.Duration
	// ApprovalWindow is how long a second person's approval stays valid
	// once granted (dual control).
	ApprovalWindow time.Duration

	ThingSpaceURL       string
	ThingSpaceSOAPURL   string
	ThingSpaceAppKey    string
	ThingSpaceAppSecret string

	// QuarantineThreshold is the number of consecutive failed upstream
	// logins after which a credential is quarantined (ThingSpace locks at 5).
	QuarantineThreshold int
	SchedulerEnabled    bool

	// BreakGlass enables the local admin sign-in at /login/local.
	BreakGlass bool

	// TrustedProxies are the networks whose X-Forwarded-For is believed for
	// the client address that the audit trail records.
	TrustedProxies []*net.IPNet

	// SMTP sends email notifications; NotifyDueDays is how long before its
	// maximum age a credential is reported due.
	SMTP          SMTP
	NotifyDueDays int

	// MasterKeyKMS is the KMS key that wraps the master keys ("" when they
	// are plain): UWSPORTAL_MASTER_KEY(_FILE) or the database hold them
	// wrapped.
	MasterKeyKMS string
}

// Secure reports whether cookies must be Secure and HSTS sent.
func (c *Config) Secure() bool { return c.BaseURL != nil && c.BaseURL.Scheme == "https" }

// SSOEnabled reports whether an OpenID Connect provider is configured.
func (c *Config) SSOEnabled() bool { return c.OIDCIssuer != "" }

// Error lists every problem found, one per line, naming each variable.
type Error struct{ Problems []string }

func (e *Error) Error() string {
	return "configuration: " + strings.Join(e.Problems, "; ")
}

// Load reads and validates the configuration. Secrets are never echoed in
// error messages, only the variable's name and what is wrong with it.
func Load(getenv func(string) string) (*Config, error) {
	p := &parser{getenv: getenv, readFile: secret.ReadKeyFile}
	c := &Config{
		DatabaseURL:         p.secret("DATABASE_URL"),
		Addr:                p.addr("UWSPORTAL_ADDR", "127.0.0.1:8080"),
		BaseURL:             p.baseURL("UWSPORTAL_BASE_URL", "http://127.0.0.1:8080"),
		CallbackURL:         p.optHTTPURL("UWSPORTAL_CALLBACK_URL"),
		MetricsAddr:         p.optAddr("UWSPORTAL_METRICS_ADDR"),
		AutoMigrate:         p.boolean("UWSPORTAL_AUTO_MIGRATE", true),
		LogLevel:            p.oneOf("UWSPORTAL_LOG_LEVEL", "info", "debug", "info", "warn", "error"),
		OIDCIssuer:          p.str("OIDC_ISSUER", ""),
		OIDCClientID:        p.str("OIDC_CLIENT_ID", ""),
		OIDCClientSecret:    p.secret("OIDC_CLIENT_SECRET"),
		OIDCGroupsClaim:     p.str("OIDC_GROUPS_CLAIM", "groups"),
		OIDCScopes:          strings.Fields(p.str("OIDC_SCOPES", "openid profile email groups")),
		AdminGroups:         p.list("UWSPORTAL_ADMIN_GROUPS"),
		SessionIdle:         p.duration("UWSPORTAL_SESSION_IDLE", 30*time.Minute),
		SessionLifetime:     p.duration("UWSPORTAL_SESSION_LIFETIME", 12*time.Hour),
		GroupsRefresh:       p.duration("UWSPORTAL_GROUPS_REFRESH", 15*time.Minute),
		ShutdownTimeout:     p.duration("UWSPORTAL_SHUTDOWN_TIMEOUT", 20*time.Second),
		ApprovalWindow:      p.duration("UWSPORTAL_APPROVAL_WINDOW", time.Hour),
		ThingSpaceURL:       p.httpURL("THINGSPACE_URL", "https://thingspace.verizon.com"),
		ThingSpaceSOAPURL:   p.httpURL("THINGSPACE_SOAP_URL", "https://uws.apps.nphase.com/api/v2/SessionService.svc"),
		ThingSpaceAppKey:    p.str("THINGSPACE_APP_KEY", ""),
		ThingSpaceAppSecret: p.secret("THINGSPACE_APP_SECRET"),
		QuarantineThreshold: p.intRange("UWSPORTAL_QUARANTINE_THRESHOLD", 2, 1, 4),
		SchedulerEnabled:    p.boolean("UWSPORTAL_SCHEDULER", true),
		BreakGlass:          p.onOff("UWSPORTAL_BREAK_GLASS", true),
		TrustedProxies:      p.cidrs("UWSPORTAL_TRUSTED_PROXIES"),
	}
	p.notify(c)
	if c.OIDCIssuer != "" {
		p.httpURL("OIDC_ISSUER", "")
		if !secureOrLoopback(c.OIDCIssuer) {
			p.fail("OIDC_ISSUER", "must be an https URL (plain http only for an IdP on loopback, in development)")
		}
	}
	oidcSet := 0
	for _, v := range []string{c.OIDCIssuer, c.OIDCClientID, c.OIDCClientSecret} {
		if v != "" {
			oidcSet++
		}
	}
	if oidcSet != 0 && oidcSet != 3 {
		for _, v := range [][2]string{{"OIDC_ISSUER", c.OIDCIssuer}, {"OIDC_CLIENT_ID", c.OIDCClientID}, {"OIDC_CLIENT_SECRET", c.OIDCClientSecret}} {
			if v[1] == "" {
				p.fail(v[0], "is required when any OIDC_* variable is set")
			}
		}
	}
	if c.ApprovalWindow > 7*24*time.Hour {
		p.fail("UWSPORTAL_APPROVAL_WINDOW", "must be at most 168h: an approval is for one action soon, not a standing permission")
	}
	if c.SessionIdle > c.SessionLifetime && c.SessionLifetime > 0 {
		p.fail("UWSPORTAL_SESSION_IDLE", "must not exceed UWSPORTAL_SESSION_LIFETIME")
	}
	if (c.ThingSpaceAppKey == "") != (c.ThingSpaceAppSecret == "") {
		p.fail("THINGSPACE_APP_KEY", "and THINGSPACE_APP_SECRET must be set together")
	}
	c.MasterKeyKMS = p.masterKey()
	if len(p.problems) > 0 {
		return nil, &Error{Problems: p.problems}
	}
	return c, nil
}

// IsConfigError reports whether err came from Load.
func IsConfigError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

type parser struct {
	getenv   func(string) string
	readFile func(string) ([]byte, error)
	problems []string
}

func (p *parser) fail(name, msg string) {
	p.problems = append(p.problems, name+" "+msg)
}

func (p *parser) str(name, def string) string {
	if v := strings.TrimSpace(p.getenv(name)); v != "" {
		return v
	}
	return def
}

func (p *parser) list(name string) []string {
	var out []string
	for _, s := range strings.Split(p.getenv(name), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (p *parser) cidrs(name string) []*net.IPNet {
	var out []*net.IPNet
	for _, s := range p.list(name) {
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			p.fail(name, fmt.Sprintf("must be a comma list of CIDR networks, %q is not one", s))
			continue
		}
		out = append(out, n)
	}
	return out
}

func (p *parser) addr(name, def string) string {
	v := p.str(name, def)
	if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
		p.fail(name, fmt.Sprintf("must be host:port, got %q", v))
	}
	return v
}

func (p *parser) optAddr(name string) string {
	if p.getenv(name) == "" {
		return ""
	}
	return p.addr(name, "")
}

func (p *parser) httpURL(name, def string) string {
	v := p.str(name, def)
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.fail(name, "must be an absolute http(s) URL")
	}
	return strings.TrimRight(v, "/")
}

// optHTTPURL reads an optional absolute http(s) URL ("" when unset).
func (p *parser) optHTTPURL(name string) string {
	if p.getenv(name) == "" {
		return ""
	}
	return p.httpURL(name, "")
}

func (p *parser) baseURL(name, def string) *url.URL {
	v := p.httpURL(name, def)
	u, err := url.Parse(v)
	if err != nil {
		return &url.URL{Scheme: "http", Host: "127.0.0.1:8080"}
	}
	if u.Path == "/" {
		u.Path = ""
	}
	return u
}

func (p *parser) boolean(name string, def bool) bool {
	v := p.getenv(name)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.fail(name, fmt.Sprintf("must be true or false, got %q", v))
		return def
	}
	return b
}

// onOff reads a switch: on/off, or anything strconv.ParseBool accepts.
func (p *parser) onOff(name string, def bool) bool {
	switch strings.ToLower(strings.TrimSpace(p.getenv(name))) {
	case "":
		return def
	case "on":
		return true
	case "off":
		return false
	}
	return p.boolean(name, def)
}

func (p *parser) duration(name string, def time.Duration) time.Duration {
	v := p.getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		p.fail(name, fmt.Sprintf("must be a positive duration such as 30m or 12h, got %q", v))
		return def
	}
	return d
}

func (p *parser) intRange(name string, def, lo, hi int) int {
	v := p.getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		p.fail(name, fmt.Sprintf("must be a whole number from %d to %d, got %q", lo, hi, v))
		return def
	}
	return n
}

func (p *parser) oneOf(name, def string, allowed ...string) string {
	v := p.str(name, def)
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	p.fail(name, fmt.Sprintf("must be one of %s, got %q", strings.Join(allowed, ", "), v))
	return def
}

// secureOrLoopback reports whether a URL is https, or http to a loopback
// host (a development IdP on this machine).
func secureOrLoopback(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	if u.Scheme == "https" {
		return true
	}
	if u.Scheme != "http" {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}
