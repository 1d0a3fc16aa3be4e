package tsim

import (
	"encoding/json"
	"testing"
)

func FuzzParseListRequest(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `{"accountName":"0000123456-00001","maxNumberOfDevices":100,"largestDeviceIdSeen":1234}`,
		`{"largestDeviceIdSeen":"99"}`, `{"maxNumberOfDevices":100000}`, `{"maxNumberOfDevices":-1}`,
		`{"currentState":"Pre-active","deviceId":{"kind":"iccid","id":"89148000001"}}`,
		`{"filter":{"deviceIdentifierFilters":[{"kind":"imei","contains":"35"}]}}`, `{"largestDeviceIdSeen":1e3}`, `[`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		q, msg := parseListRequest(body)
		if msg != "" {
			if q.max != 0 || q.account != "" {
				t.Fatalf("a refused request kept fields: %+v", q)
			}
			return
		}
		if q.max < 1 || q.max > MaxPageSize || q.after < 0 {
			t.Fatalf("page bounds %d, after %d for %q", q.max, q.after, body)
		}
		if q.device != nil && q.device.ID == "" {
			t.Fatalf("an empty deviceId passed for %q", body)
		}
		if len(body) > 0 && !json.Valid(body) && len(trimmed(body)) > 0 {
			t.Fatalf("invalid JSON accepted: %q", body)
		}
	})
}

func trimmed(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	return b
}
