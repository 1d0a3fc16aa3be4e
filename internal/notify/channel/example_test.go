package channel_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/uwsportal/uwsportal/internal/notify/channel"
)

// verifyUwsportal is the receiver-side check that docs/notifications.md
// shows, using only the standard library; the example below runs it
// against a request signed by channel.Sign, so the document stays right.
func verifyUwsportal(secret []byte, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	ts, err := strconv.ParseInt(r.Header.Get("X-Uwsportal-Timestamp"), 10, 64)
	if err != nil {
		return nil, errors.New("no timestamp")
	}
	if d := time.Since(time.Unix(ts, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return nil, errors.New("timestamp too old or too far ahead")
	}
	mac := hmac.New(sha256.New, secret)
	fmt.Fprintf(mac, "%d.", ts)
	mac.Write(body)
	want := "v1=" + hex.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Split(r.Header.Get("X-Uwsportal-Signature"), ",") {
		if hmac.Equal([]byte(strings.TrimSpace(sig)), []byte(want)) {
			return body, nil // then drop it if X-Uwsportal-Delivery was seen before
		}
	}
	return nil, errors.New("bad signature")
}

func Example_verifyReceiver() {
	secret := []byte("whsec-example")
	body := []byte(`{"id":1,"event":"rotated"}`)
	ts := time.Now().Unix()
	r := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(body))
	r.Header.Set(channel.HeaderTimestamp, strconv.FormatInt(ts, 10))
	r.Header.Set(channel.HeaderSignature, channel.Sign(secret, ts, body))

	_, err := verifyUwsportal(secret, r)
	fmt.Println("right secret:", err)
	r.Body = io.NopCloser(bytes.NewReader(body))
	_, err = verifyUwsportal([]byte("wrong"), r)
	fmt.Println("wrong secret:", err)
	// Output:
	// right secret: <nil>
	// wrong secret: bad signature
}
