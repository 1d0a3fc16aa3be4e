package channel

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers of a webhook request (see docs/notifications.md, "Webhook signature").
const (
	HeaderDelivery  = "X-Uwsportal-Delivery"
	HeaderEvent     = "X-Uwsportal-Event"
	HeaderTimestamp = "X-Uwsportal-Timestamp"
	HeaderSignature = "X-Uwsportal-Signature"
)

// DefaultTolerance is how far a webhook's timestamp may be from the
// receiver's clock when Verify is given no tolerance.
const DefaultTolerance = 5 * time.Minute

// signaturePrefix names the scheme, so a later scheme can be added beside it.
const signaturePrefix = "v1="

// Sign returns the X-Uwsportal-Signature value for a body sent at timestamp
// (Unix seconds): "v1=" and the hex HMAC-SHA256, under secret, of the
// timestamp in decimal, a full stop, and the body bytes exactly as sent.
func Sign(secret []byte, timestamp int64, body []byte) string {
	return signaturePrefix + hex.EncodeToString(mac(secret, timestamp, body))
}

func mac(secret []byte, timestamp int64, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// ErrSignature is wrapped by every error Verify returns.
var ErrSignature = errors.New("webhook signature not accepted")

// Verify checks a received webhook: the timestamp header must be within
// tolerance of now (DefaultTolerance if tolerance is 0), and one of the
// comma-separated values of the signature header must be Sign(secret,
// timestamp, body), compared in constant time. Receivers should then drop
// a request whose X-Uwsportal-Delivery they have already handled: delivery
// is at least once.
func Verify(secret []byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if len(secret) == 0 {
		return fmt.Errorf("%w: no secret to verify with: give the channel's signing secret", ErrSignature)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	tsText := h.Get(HeaderTimestamp)
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s is missing or not Unix seconds", ErrSignature, HeaderTimestamp)
	}
	if skew := now.Sub(time.Unix(ts, 0)); skew > tolerance || skew < -tolerance {
		return fmt.Errorf("%w: the timestamp is %s away from this clock (tolerance %s): a replay, or a clock to set right", ErrSignature, skew.Round(time.Second), tolerance)
	}
	want := mac(secret, ts, body)
	sigs := h.Get(HeaderSignature)
	if sigs == "" {
		return fmt.Errorf("%w: %s is missing", ErrSignature, HeaderSignature)
	}
	for _, sig := range strings.Split(sigs, ",") {
		got, ok := strings.CutPrefix(strings.TrimSpace(sig), signaturePrefix)
		if !ok {
			continue
		}
		raw, err := hex.DecodeString(got)
		if err == nil && hmac.Equal(raw, want) {
			return nil
		}
	}
	return fmt.Errorf("%w: no v1 signature matches: check the secret, and verify the body bytes as received (before any JSON decoding)", ErrSignature)
}
