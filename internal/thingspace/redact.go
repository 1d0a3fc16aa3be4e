package thingspace

import (
	"regexp"
	"strings"

	"github.com/uwsportal/uwsportal/models"
)

const (
	maxBody     = 512 // bytes of an upstream body kept in an Error
	maxCode     = 128
	redactedTxt = "[redacted]"
)

// Field-name patterns catch secrets we were not told about (a session token
// echoed in an error, the new password in a half-parsed 200). Known secrets
// passed by the caller are replaced verbatim as well.
var (
	jsonSecretField = regexp.MustCompile(`(?i)"((?:old|new)?password|sessiontoken|access_token|refresh_token|token|secret)"\s*:\s*"(?:[^"\\]|\\.)*"?`)
	xmlSecretField  = regexp.MustCompile(`(?i)<((?:[\w.-]+:)?(?:(?:old|new)?password|sessiontoken|token))(\s[^>]*)?>[^<]*`)
)

// scrub makes upstream text safe for an error: secrets replaced, invalid
// UTF-8 repaired, cut to limit bytes. If a secret still shows (it overlapped
// the replacement marker, or was split oddly), the whole text is withheld.
func scrub(s string, limit int, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, redactedTxt)
		}
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = jsonSecretField.ReplaceAllString(s, `"$1":"`+redactedTxt+`"`)
	s = xmlSecretField.ReplaceAllString(s, `<$1$2>`+redactedTxt)
	s = models.Clip(s, limit)
	for _, sec := range secrets {
		if sec != "" && strings.Contains(s, sec) {
			return ""
		}
	}
	return s
}
