package web

import (
	"crypto/rand"
	"encoding/base64"

	"github.com/labstack/echo/v4"
)

// clientRequestIDKey holds a client's own request ID, when it is well formed.
const clientRequestIDKey = "client-request-id"

// requestIDs gives every request an ID made here: a client's X-Request-ID
// is never trusted as the request's ID (it reaches the audit trail and the
// logs), only kept apart when short and well formed, to correlate traces.
func requestIDs(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if id, ok := cleanClientRequestID(c.Request().Header.Get(echo.HeaderXRequestID)); ok {
			c.Set(clientRequestIDKey, id)
		}
		c.Response().Header().Set(echo.HeaderXRequestID, newRequestID())
		return next(c)
	}
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return base64.RawURLEncoding.EncodeToString(b)
}

// cleanClientRequestID accepts 1 to 64 letters, digits, '.', '_', ':' or
// '-' (UUIDs, W3C trace IDs and the like), and nothing else.
func cleanClientRequestID(s string) (string, bool) {
	if s == "" || len(s) > 64 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '.' || b == '_' || b == ':' || b == '-') {
			return "", false
		}
	}
	return s, true
}

func clientRequestID(c echo.Context) string {
	s, _ := c.Get(clientRequestIDKey).(string)
	return s
}
