package thingspace_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/thingspace"
)

// unauthorizedBodies are 401 answers the gateway (or a proxy in front of it)
// may give for a bad bearer token; only the first is documented.
var unauthorizedBodies = map[string]struct{ contentType, body string }{
	"gateway fault": {"application/json", `{"fault":{"code":900901,"message":"Invalid Credentials"}}`},
	"empty":         {"", ""},
	"html":          {"text/html", "<html><head><title>401 Authorization Required</title></head><body>401</body></html>"},
	"oauth":         {"application/json", `{"error":"invalid_token","error_description":"The access token expired"}`},
	"unknown fault": {"application/json", `{"fault":{"code":900908,"message":"Resource forbidden"}}`},
}

// unauthorizedServer issues bearer tokens "t1", "t2", … and answers the
// first rejectN M2M requests with the given 401; later ones succeed if they
// carry a token other than the first.
func unauthorizedServer(t *testing.T, ct, body string, rejectN int32) (srv *httptest.Server, tokens, m2m *atomic.Int32) {
	t.Helper()
	tokens, m2m = new(atomic.Int32), new(atomic.Int32)
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/ts/v1/oauth2/token" {
			n := tokens.Add(1)
			reply(t, w, `{"access_token":"t`+string(rune('0'+n))+`","token_type":"Bearer","expires_in":3600}`)
			return
		}
		if n := m2m.Add(1); n <= rejectN || r.Header.Get("Authorization") == "Bearer t1" {
			if ct != "" {
				w.Header().Set("Content-Type", ct)
			}
			w.WriteHeader(http.StatusUnauthorized)
			reply(t, w, body)
			return
		}
		reply(t, w, `{"sessionToken":"s"}`)
	}))
	t.Cleanup(srv.Close)
	return srv, tokens, m2m
}

// Any 401 is the gateway refusing the bearer token: the backend drops the
// token, fetches another and sends once more.
func TestAny401RefetchesBearerAndRetriesOnce(t *testing.T) {
	for name, a := range unauthorizedBodies {
		t.Run(name, func(t *testing.T) {
			srv, tokens, m2m := unauthorizedServer(t, a.contentType, a.body, 1)
			b, err := thingspace.NewREST(thingspace.RESTConfig{BaseURL: srv.URL, AppKey: "k", AppSecret: "s"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.Login(t.Context(), "u", "p"); err != nil {
				t.Fatalf("login after one 401: %v", err)
			}
			if tokens.Load() != 2 || m2m.Load() != 2 {
				t.Fatalf("%d token requests, %d logins; want 2 and 2", tokens.Load(), m2m.Load())
			}
		})
	}
}

// A 401 that persists is returned as ClassBearerRejected after one retry and
// never counts toward the lockout.
func TestPersistent401IsBearerRejectedAndNotCounted(t *testing.T) {
	for name, a := range unauthorizedBodies {
		t.Run(name, func(t *testing.T) {
			srv, tokens, m2m := unauthorizedServer(t, a.contentType, a.body, 1000)
			b, err := thingspace.NewREST(thingspace.RESTConfig{BaseURL: srv.URL, AppKey: "k", AppSecret: "s"})
			if err != nil {
				t.Fatal(err)
			}
			c, g := newClient(t, b, 2)
			for range 5 {
				if err := c.Login(t.Context(), cred(testPassword)); thingspace.ClassOf(err) != thingspace.ClassBearerRejected {
					t.Fatalf("class %v (%v), want bearer rejected", thingspace.ClassOf(err), err)
				}
			}
			if g.Failures("dept") != 0 {
				t.Fatalf("%d failures counted for 401 answers", g.Failures("dept"))
			}
			if tokens.Load() != 10 || m2m.Load() != 10 {
				t.Fatalf("%d token requests, %d logins for 5 operations; want 10 and 10", tokens.Load(), m2m.Load())
			}
		})
	}
}

// A 429 is not retried, may not have counted, and tells how long to wait.
// (Client.login counts through its own mayCountUpstream until it switches to
// MayCountUpstream; the backend's answer is what this checks.)
func TestThrottledLoginNotRetriedWithRetryAfter(t *testing.T) {
	var m2m atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/ts/v1/oauth2/token" {
			reply(t, w, `{"access_token":"t","token_type":"Bearer","expires_in":3600}`)
			return
		}
		m2m.Add(1)
		w.Header().Set("Retry-After", "7")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		reply(t, w, `{"fault":{"code":900800,"message":"Message throttled out","description":"You have exceeded your quota"}}`)
	}))
	defer srv.Close()
	b, err := thingspace.NewREST(thingspace.RESTConfig{BaseURL: srv.URL, AppKey: "k", AppSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Login(t.Context(), testUser, testPassword)
	var te *thingspace.Error
	if !errors.As(err, &te) || te.Class != thingspace.ClassThrottled || te.RetryAfter != 7*time.Second {
		t.Fatalf("err %v; want throttled with RetryAfter 7s", err)
	}
	if m2m.Load() != 1 || thingspace.MayCountUpstream(err) {
		t.Fatalf("%d requests for one login, may count %v; want 1 and false", m2m.Load(), thingspace.MayCountUpstream(err))
	}
}
