package channel

import (
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"strings"

	"github.com/uwsportal/uwsportal/models"
)

// maxTargetLen bounds a URL or address; real Slack, Teams and webhook URLs
// are a few hundred bytes.
const maxTargetLen = 2048

// ValidateTarget checks a channel's URL (webhook, slack, teams) or address
// (email) before it is stored or used. Problems are models.ErrInvalid with
// a message for the person who typed the target; the message never repeats
// a URL, since a Slack or Teams URL is itself the credential.
func ValidateTarget(kind models.ChannelKind, target string) error {
	if len(target) > maxTargetLen {
		return models.Errorf(models.ErrInvalid, "The %s target is longer than %d characters.", kind, maxTargetLen)
	}
	switch kind {
	case models.ChannelWebhook, models.ChannelSlack, models.ChannelTeams:
		_, err := parseTargetURL(kind, target)
		return err
	case models.ChannelEmail:
		return validateAddress(target)
	default:
		return models.Errorf(models.ErrInvalid, "unknown channel kind %q: use webhook, slack, teams or email", kind)
	}
}

// parseTargetURL is ValidateTarget for the URL kinds, returning the parsed URL.
func parseTargetURL(kind models.ChannelKind, target string) (*url.URL, error) {
	if strings.TrimSpace(target) != target || target == "" {
		return nil, models.Errorf(models.ErrInvalid, "Give the %s URL without spaces around it.", kind)
	}
	u, err := url.Parse(target)
	if err != nil {
		return nil, models.Errorf(models.ErrInvalid, "The %s URL cannot be read as a URL: paste it exactly as the service showed it.", kind)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, models.Errorf(models.ErrInvalid, "The %s URL must start with https://.", kind)
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return nil, models.Errorf(models.ErrInvalid, "The %s URL must name a host, as in https://example.com/path.", kind)
	case u.User != nil:
		return nil, models.Errorf(models.ErrInvalid, "The %s URL must not hold a user name or password (user:password@): put the credential in the path or, for webhooks, rely on the signature.", kind)
	case u.Fragment != "" || strings.Contains(target, "#"):
		return nil, models.Errorf(models.ErrInvalid, "The %s URL must not have a #fragment: it is never sent to the server.", kind)
	case u.Scheme == "http" && !IsLoopbackHost(u.Hostname()):
		return nil, models.Errorf(models.ErrInvalid, "The %s URL must use https:// (plain http:// is allowed only for 127.0.0.1, ::1 or localhost).", kind)
	}
	return u, nil
}

// validateAddress accepts one bare address: "ops@example.com", not
// "Ops <ops@example.com>" and not a list.
func validateAddress(target string) error {
	if target == "" {
		return models.Errorf(models.ErrInvalid, "Give an email address, such as ops@example.com.")
	}
	a, err := mail.ParseAddress(target)
	if err != nil {
		return models.Errorf(models.ErrInvalid, "%q is not one email address: give a single address such as ops@example.com.", models.ClipMark(target, 80))
	}
	if a.Name != "" || a.Address != target {
		return models.Errorf(models.ErrInvalid, "Give the bare address (such as ops@example.com) without a display name or angle brackets.")
	}
	return nil
}

// IsLoopbackHost reports whether host (a name or an IP address, without a
// port or brackets) is this machine: 127.0.0.0/8, ::1 or localhost. Only
// those may be reached without TLS.
func IsLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// Redact returns what pages and `notify list` may show of a target: for a
// URL only its scheme and host, since Slack, Teams and most webhook URLs
// carry their secret in the path (https://hooks.slack.com/…); for an email
// channel the address. A URL that cannot be read shows as "[invalid URL]".
func Redact(kind models.ChannelKind, target string) string {
	if kind == models.ChannelEmail {
		return target
	}
	u, err := url.Parse(target)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "[invalid URL]"
	}
	host := u.Hostname()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if p := u.Port(); p != "" {
		host = net.JoinHostPort(u.Hostname(), p)
	}
	return u.Scheme + "://" + host + "/…"
}
