package thingspace

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestParseRESTErrorUnauthorizedAndThrottled(t *testing.T) {
	tests := []struct {
		name   string
		op     string
		status int
		body   string
		class  Class
	}{
		{"401 empty at login", opLogin, 401, ``, ClassBearerRejected},
		{"401 html at reset", opReset, 401, `<html><body>Unauthorized</body></html>`, ClassBearerRejected},
		{"401 oauth invalid_token at call", opCall, 401, `{"error":"invalid_token","error_description":"expired"}`, ClassBearerRejected},
		{"401 unknown gateway fault at logout", opLogout, 401, `{"fault":{"code":900908,"message":"Resource forbidden"}}`, ClassBearerRejected},
		{"401 unknown m2m code", opLogin, 401, `{"errorCode":"UnifiedWebService.REQUEST_FAILED.Whatever"}`, ClassBearerRejected},
		// The service's own code names what happened: it saw the request.
		{"401 m2m session expired", opCall, 401, `{"errorCode":"UnifiedWebService.REQUEST_FAILED.SessionToken.Expired"}`, ClassSessionExpired},
		{"401 m2m bad credentials still counts", opLogin, 401, `{"errorCode":"UnifiedWebService.INPUT_INVALID.Login.InvalidCredentials"}`, ClassInvalidCredentials},
		{"401 empty at token endpoint", opToken, 401, ``, ClassBearerRejected},
		{"429 empty", opLogin, 429, ``, ClassThrottled},
		{"429 m2m code", opLogin, 429, `{"errorCode":"UnifiedWebService.INPUT_INVALID.Login.InvalidCredentials"}`, ClassThrottled},
		{"503 throttle fault", opReset, 503, `{"fault":{"code":900802,"message":"Message throttled out","description":"You have exceeded your quota"}}`, ClassThrottled},
		{"other 9008xx is transient", opCall, 503, `{"fault":{"code":900810,"message":"x"}}`, ClassTransient},
		{"403 oauth error", opCall, 403, `{"error":"insufficient_scope"}`, ClassBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if e := parseRESTError(tt.op, tt.status, []byte(tt.body), nil); e.Class != tt.class {
				t.Fatalf("class %v, want %v", e.Class, tt.class)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                               0,
		"120":                            2 * time.Minute,
		" 7 ":                            7 * time.Second,
		"0":                              0,
		"-5":                             0,
		"1.5":                            0,
		"soon":                           0,
		"99999999999999999999":           24 * time.Hour,
		"Fri, 02 Jan 2026 03:05:05 GMT":  time.Minute,
		"Fri, 02 Jan 2026 03:00:00 GMT":  0, // in the past
		"Friday, 02-Jan-26 03:04:35 GMT": 30 * time.Second,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestMayCountUpstream(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"no error", nil, false},
		{"invalid credentials", &Error{Class: ClassInvalidCredentials, Status: 400}, true},
		{"locked", &Error{Class: ClassLocked, Status: 400}, true},
		{"5xx", &Error{Class: ClassTransient, Status: 502}, true},
		{"timeout after sending", &Error{Class: ClassTransient, Err: errors.New("deadline")}, true},
		{"unreadable 200", &Error{Class: ClassUnknown, Status: 200}, true},
		{"bad request", &Error{Class: ClassBadRequest, Status: 400}, true},
		{"foreign error", errors.New("boom"), true},
		{"not sent", &Error{Class: ClassTransient, notSent: true}, false},
		{"bearer rejected", &Error{Class: ClassBearerRejected, Status: 401}, false},
		{"throttled", &Error{Class: ClassThrottled, Status: 429}, false},
		{"unsupported", &Error{Class: ClassUnsupported}, false},
		{"guard class", &Error{Class: ClassGuardRefused}, false},
		{"guard sentinel wrapped", fmt.Errorf("login dept: %w", ErrGuardRefused), false},
		{"unsupported sentinel", fmt.Errorf("x: %w", ErrUnsupported), false},
		{"wrapped bearer", fmt.Errorf("login dept: %w", &Error{Class: ClassBearerRejected, Status: 401}), false},
		{"wrapped 5xx", fmt.Errorf("login dept: %w", &Error{Class: ClassTransient, Status: 503}), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := MayCountUpstream(tt.err); got != tt.want {
				t.Fatalf("MayCountUpstream(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestResetOutcomeOfGatewayRefusals(t *testing.T) {
	for _, e := range []*Error{
		{Class: ClassThrottled, Status: 429},
		{Class: ClassThrottled, Status: 503, Code: "900800"},
		{Class: ClassBearerRejected, Status: 401},
	} {
		if got := resetResultFromError(e).Outcome; got != ResetRejected {
			t.Errorf("%v: outcome %v, want rejected", e, got)
		}
	}
	if got := resetResultFromError(&Error{Class: ClassUnknown, Status: 400}).Outcome; got != ResetUnknown {
		t.Errorf("an uninterpreted failure: outcome %v, want unknown", got)
	}
}
