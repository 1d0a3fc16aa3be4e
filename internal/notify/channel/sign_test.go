package channel_test

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/notify/channel"
)

func signedHeader(secret []byte, ts int64, body []byte) http.Header {
	h := http.Header{}
	h.Set(channel.HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(channel.HeaderSignature, channel.Sign(secret, ts, body))
	return h
}

// TestSignKnownValue pins the signing string, so the documentation's
// openssl example and receivers in other languages stay right:
// printf '%s' '1700000000.{"id":1}' | openssl dgst -sha256 -hmac 'whsec-test' -hex
func TestSignKnownValue(t *testing.T) {
	const knownSignature = "5c7c76af77af443a710729c69dbfac6394ac5b78aa21a360d1cd2a71077fc9cf" // openssl's output
	got := channel.Sign([]byte("whsec-test"), 1700000000, []byte(`{"id":1}`))
	const want = "v1=" + knownSignature
	if got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	secret := []byte("a signing secret")
	body := []byte(`{"id":7,"event":"rotated"}`)
	now := time.Unix(1_800_000_000, 0)
	good := signedHeader(secret, now.Unix(), body)

	if err := channel.Verify(secret, good, body, now, 0); err != nil {
		t.Fatalf("Verify of a fresh, correct signature: %v", err)
	}
	if err := channel.Verify(secret, good, body, now.Add(4*time.Minute), 0); err != nil {
		t.Fatalf("Verify 4 minutes later (default tolerance 5): %v", err)
	}
	rotating := good.Clone()
	rotating.Set(channel.HeaderSignature, "v1=00ff, "+good.Get(channel.HeaderSignature))
	if err := channel.Verify(secret, rotating, body, now, 0); err != nil {
		t.Fatalf("Verify with a second, matching signature in the list: %v", err)
	}

	noSig := good.Clone()
	noSig.Del(channel.HeaderSignature)
	badTS := good.Clone()
	badTS.Set(channel.HeaderTimestamp, "yesterday")
	otherTS := good.Clone()
	otherTS.Set(channel.HeaderTimestamp, strconv.FormatInt(now.Unix()+1, 10)) // signature was over the old one
	for _, tc := range []struct {
		name   string
		secret []byte
		h      http.Header
		body   []byte
		now    time.Time
		tol    time.Duration
	}{
		{"wrong secret", []byte("another secret"), good, body, now, 0},
		{"changed body", secret, good, []byte(`{"id":7,"event":"rotated" }`), now, 0},
		{"old timestamp", secret, good, body, now.Add(6 * time.Minute), 0},
		{"future timestamp", secret, good, body, now.Add(-6 * time.Minute), 0},
		{"old for a tight tolerance", secret, good, body, now.Add(2 * time.Second), time.Second},
		{"no signature", secret, noSig, body, now, 0},
		{"timestamp not a number", secret, badTS, body, now, 0},
		{"timestamp changed", secret, otherTS, body, now, 0},
		{"no secret", nil, good, body, now, 0},
	} {
		err := channel.Verify(tc.secret, tc.h, tc.body, tc.now, tc.tol)
		if err == nil {
			t.Errorf("%s: Verify accepted it", tc.name)
			continue
		}
		if !errors.Is(err, channel.ErrSignature) {
			t.Errorf("%s: error %v does not wrap ErrSignature", tc.name, err)
		}
	}
}
