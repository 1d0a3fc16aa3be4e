package channel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/uwsportal/uwsportal/models"
)

const (
	// maxResponseRead is how much of a response body is read at most.
	maxResponseRead = 4 << 10
	// maxResponseShown is how much of it an error quotes.
	maxResponseShown = 200
	userAgent        = "uwsportal-notify"
)

// HTTPError is a response outside 2xx. Its text names the channel kind, the
// host (never the path), the status and the start of the response body.
type HTTPError struct {
	Kind       models.ChannelKind
	Host       string // scheme://host/…, as Redact shows it
	StatusCode int
	Body       string        // at most ~200 bytes, control characters removed
	RetryAfter time.Duration // from a Retry-After header in seconds, or 0
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("%s POST to %s: HTTP %d %s", e.Kind, e.Host, e.StatusCode, http.StatusText(e.StatusCode))
	if e.StatusCode >= 300 && e.StatusCode < 400 {
		msg += " (a redirect, which is not followed: set the channel's URL to the final address)"
	}
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// RetryAfter returns how long the destination asked us to wait (a 429's or
// 503's Retry-After header in seconds), if it did.
func RetryAfter(err error) (time.Duration, bool) {
	var h *HTTPError
	if errors.As(err, &h) && h.RetryAfter > 0 {
		return h.RetryAfter, true
	}
	return 0, false
}

// postJSON sends body to the destination URL and classifies the outcome.
func (s *Sender) postJSON(ctx context.Context, kind models.ChannelKind, target string, body []byte, header http.Header) error {
	u, err := parseTargetURL(kind, target)
	if err != nil {
		return Permanent(err)
	}
	secrets := urlSecrets(target, u)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return scrub(Permanent(fmt.Errorf("%s POST to %s: %w", kind, Redact(kind, target), err)), secrets...)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := s.httpClient().Do(req)
	if err != nil {
		return scrub(transportError(ctx, kind, Redact(kind, target), err), secrets...)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseRead))
	// Drain a little more so the connection can be reused; give up beyond that.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseRead))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	herr := &HTTPError{
		Kind: kind, Host: Redact(kind, target), StatusCode: resp.StatusCode,
		Body: clipBody(scrubText(string(snippet), secrets...)), RetryAfter: retryAfter(resp.Header.Get("Retry-After")),
	}
	return scrub(classifyStatus(herr), secrets...)
}

// classifyStatus marks the statuses that a retry cannot fix.
func classifyStatus(e *HTTPError) error {
	switch c := e.StatusCode; {
	case c == http.StatusRequestTimeout, c == http.StatusTooManyRequests, c >= 500:
		return e
	case c >= 300 && c < 500:
		return Permanent(e)
	default:
		return e
	}
}

// transportError rewrites a client error without its URL: *url.Error
// prints the whole URL, so only the error inside it is kept.
func transportError(ctx context.Context, kind models.ChannelKind, host string, err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	if ctx.Err() != nil {
		if errors.Is(err, ctx.Err()) {
			return fmt.Errorf("%s POST to %s: %w", kind, host, ctx.Err())
		}
		return fmt.Errorf("%s POST to %s: %w (%v)", kind, host, ctx.Err(), err)
	}
	if uerr != nil && uerr.Timeout() {
		return fmt.Errorf("%s POST to %s: no answer in time: %w", kind, host, err)
	}
	return fmt.Errorf("%s POST to %s: %w", kind, host, err)
}

// urlSecrets lists the forms of a destination URL that must not appear in
// an error: the whole URL and its path and query, raw and escaped.
func urlSecrets(target string, u *url.URL) []string {
	out := []string{target, u.String(), u.EscapedPath(), u.RawQuery}
	if u.Path != "/" {
		out = append(out, u.Path)
	}
	if q, err := url.QueryUnescape(u.RawQuery); err == nil {
		out = append(out, q)
	}
	return out
}

// clipBody keeps the start of a response body, one line, printable only.
func clipBody(b string) string {
	s := strings.Map(func(r rune) rune {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, b)
	s = strings.Join(strings.Fields(s), " ")
	return models.ClipMark(s, maxResponseShown)
}

// retryAfter reads a Retry-After header given in seconds (the form rate
// limiters use); an HTTP date or nonsense gives 0.
func retryAfter(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 {
		return 0
	}
	return min(time.Duration(n)*time.Second, 24*time.Hour)
}
