package channel_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/notify/channel"
	"github.com/uwsportal/uwsportal/models"
)

func TestValidateTarget(t *testing.T) {
	good := []struct {
		kind   models.ChannelKind
		target string
	}{
		{models.ChannelSlack, "https://hooks.slack.com/services/T000/B000/XXXXSECRET"},
		{models.ChannelTeams, "https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=SECRET"},
		{models.ChannelWebhook, "https://hooks.example.com/uwsportal"},
		{models.ChannelWebhook, "http://127.0.0.1:8080/hook"},
		{models.ChannelWebhook, "http://127.1.2.3/hook"},
		{models.ChannelWebhook, "http://[::1]:9000/hook"},
		{models.ChannelWebhook, "http://localhost/hook"},
		{models.ChannelWebhook, "http://LOCALHOST./hook"},
		{models.ChannelEmail, "ops@example.com"},
		{models.ChannelEmail, "first.last+uws@sub.example.org"},
	}
	for _, tc := range good {
		if err := channel.ValidateTarget(tc.kind, tc.target); err != nil {
			t.Errorf("ValidateTarget(%s, %q) = %v, want nil", tc.kind, tc.target, err)
		}
	}

	bad := []struct {
		kind   models.ChannelKind
		target string
		msg    string // part of the message
	}{
		{models.ChannelWebhook, "", "without spaces"},
		{models.ChannelWebhook, " https://example.com/x", "without spaces"},
		{models.ChannelWebhook, "hooks.example.com/x", "must start with https://"},
		{models.ChannelWebhook, "ftp://example.com/x", "must start with https://"},
		{models.ChannelWebhook, "/relative/path", "must start with https://"},
		{models.ChannelWebhook, "https:///no-host", "must name a host"},
		{models.ChannelWebhook, "https:opaque", "must name a host"},
		{models.ChannelWebhook, "https://user:pw@example.com/x", "user:password@"},
		{models.ChannelWebhook, "https://example.com/x#frag", "#fragment"},
		{models.ChannelSlack, "http://hooks.slack.com/services/T/B/X", "must use https://"},
		{models.ChannelTeams, "http://10.0.0.1/x", "must use https://"},
		{models.ChannelWebhook, "http://127.0.0.1.example.com/x", "must use https://"},
		{models.ChannelWebhook, "http://localhost.example.com/x", "must use https://"},
		{models.ChannelWebhook, "https://example.com/%zz", "cannot be read"},
		{models.ChannelWebhook, "https://example.com/" + strings.Repeat("a", 2100), "longer than"},
		{models.ChannelEmail, "", "Give an email address"},
		{models.ChannelEmail, "not an address", "not one email address"},
		{models.ChannelEmail, "a@example.com, b@example.com", "not one email address"},
		{models.ChannelEmail, "Ops <ops@example.com>", "without a display name"},
		{models.ChannelEmail, "<ops@example.com>", "without a display name"},
		{models.ChannelEmail, "ops@example.com ", "without a display name"},
		{"pager", "https://example.com", "unknown channel kind"},
	}
	for _, tc := range bad {
		err := channel.ValidateTarget(tc.kind, tc.target)
		if err == nil {
			t.Errorf("ValidateTarget(%s, %q) = nil, want an error", tc.kind, tc.target)
			continue
		}
		if !errors.Is(err, models.ErrInvalid) {
			t.Errorf("ValidateTarget(%s, %q) = %v, not ErrInvalid", tc.kind, tc.target, err)
		}
		if !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("ValidateTarget(%s, %q) = %q, want it to say %q", tc.kind, tc.target, err, tc.msg)
		}
		if tc.kind != models.ChannelEmail && len(tc.target) > 12 && strings.Contains(err.Error(), tc.target) {
			t.Errorf("ValidateTarget(%s, …) repeats the URL in %q", tc.kind, err)
		}
	}
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct {
		kind         models.ChannelKind
		target, want string
	}{
		{models.ChannelSlack, "https://hooks.slack.com/services/T000/B000/XXXXSECRET", "https://hooks.slack.com/…"},
		{models.ChannelTeams, "https://prod-12.westeurope.logic.azure.com:443/workflows/abc?sig=SECRET", "https://prod-12.westeurope.logic.azure.com:443/…"},
		{models.ChannelWebhook, "http://[::1]:9000/hook/token", "http://[::1]:9000/…"},
		{models.ChannelWebhook, "http://[::1]/hook/token", "http://[::1]/…"},
		{models.ChannelWebhook, "https://user:pw@example.com/x", "https://example.com/…"},
		{models.ChannelWebhook, "https://example.com", "https://example.com/…"},
		{models.ChannelWebhook, "not a url at all", "[invalid URL]"},
		{models.ChannelWebhook, "https://example.com/%zz/SECRET", "[invalid URL]"},
		{models.ChannelEmail, "ops@example.com", "ops@example.com"},
	} {
		if got := channel.Redact(tc.kind, tc.target); got != tc.want {
			t.Errorf("Redact(%s, %q) = %q, want %q", tc.kind, tc.target, got, tc.want)
		}
	}
}

func TestDestinationAndSMTPPrintNoSecret(t *testing.T) {
	d := channel.Destination{Kind: models.ChannelSlack, URL: "https://hooks.slack.com/services/T/B/tok3nSECRETpath", Secret: []byte("whsec-abcdef")}
	m := channel.SMTP{Addr: "smtp.example.com:587", Username: "portal", Password: "s3cret-smtp-Passw0rd"}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{d, &d, m, &m, struct{ D channel.Destination }{d}} {
			out := fmt.Sprintf(format, v)
			for _, secret := range []string{"tok3nSECRETpath", "whsec-abcdef", "s3cret-smtp-Passw0rd", "119 104 115 101 99"} {
				if strings.Contains(out, secret) {
					t.Errorf("Sprintf(%q, %T) = %s shows a secret", format, v, out)
				}
			}
		}
	}
}
