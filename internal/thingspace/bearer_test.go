package thingspace_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/internal/tsim"
)

func TestBearerCachedAndRefreshedBeforeExpiry(t *testing.T) {
	env := newSimEnv(t)
	b := env.rest(t)
	// Logins need the bearer too, and survive the session idle expiry.
	call := func() {
		t.Helper()
		if _, err := b.Login(t.Context(), testUser, testPassword); err != nil {
			t.Fatal(err)
		}
	}
	call()
	for range 5 {
		call()
	}
	if st := env.sim.Stats(); st.TokenRequests != 1 {
		t.Fatalf("%d token requests for 6 requests, want 1", st.TokenRequests)
	}
	// Within the last minute of the hour the client fetches again; the
	// server still hands out the same token.
	env.clock.Advance(59*time.Minute + 30*time.Second)
	call()
	if st := env.sim.Stats(); st.TokenRequests != 2 || st.TokensIssued != 1 {
		t.Fatalf("token requests %d issued %d, want 2 and 1", st.TokenRequests, st.TokensIssued)
	}
	env.clock.Advance(time.Minute) // the server's token expired meanwhile
	call()
	if st := env.sim.Stats(); st.TokensIssued != 2 || st.BearerRejections != 0 {
		t.Fatalf("issued %d rejections %d, want a new token and no rejection", st.TokensIssued, st.BearerRejections)
	}
}

func TestBearerRejectedRefetchedOnce(t *testing.T) {
	env := newSimEnv(t)
	b := env.rest(t)
	s, err := b.Login(t.Context(), testUser, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	env.faults(t, tsim.Faults{RejectBearerNext: true})
	if err := b.Call(t.Context(), s, http.MethodPost, deviceList, nil, nil); err != nil {
		t.Fatalf("call after a rejected bearer: %v", err)
	}
	st := env.sim.Stats()
	if st.BearerRejections != 1 || st.TokenRequests != 2 || st.TokensIssued != 2 {
		t.Fatalf("rejections %d token requests %d issued %d; want 1, 2, 2", st.BearerRejections, st.TokenRequests, st.TokensIssued)
	}
	if u := env.user(t); u.Calls != 1 || u.LoginsOK != 1 {
		t.Fatalf("calls %d logins %d", u.Calls, u.LoginsOK)
	}
}

// A gateway that rejects every bearer: exactly one retry, then the error.
func TestBearerRejectedRetriedOnlyOnce(t *testing.T) {
	var tokens, m2m atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/ts/v1/oauth2/token" {
			tokens.Add(1)
			reply(t, w, `{"access_token":"t","token_type":"Bearer","expires_in":3600}`)
			return
		}
		m2m.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		reply(t, w, `{"fault":{"code":900901,"message":"Invalid Credentials","description":"x"}}`)
	}))
	defer srv.Close()
	b, err := thingspace.NewREST(thingspace.RESTConfig{BaseURL: srv.URL, AppKey: "k", AppSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	c, g := newClient(t, b, 2)
	err = c.Login(t.Context(), cred(testPassword))
	if thingspace.ClassOf(err) != thingspace.ClassBearerRejected || m2m.Load() != 2 || tokens.Load() != 2 {
		t.Fatalf("class %v, %d M2M requests, %d token requests; want bearer rejected, 2, 2", thingspace.ClassOf(err), m2m.Load(), tokens.Load())
	}
	if g.Failures("dept") != 0 {
		t.Fatal("a gateway refusal counted as a failed login")
	}
}

func TestBearerSingleFlight(t *testing.T) {
	env := newSimEnv(t)
	b := env.rest(t)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := b.Login(t.Context(), testUser, testPassword); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if st := env.sim.Stats(); st.TokenRequests != 1 {
		t.Fatalf("%d concurrent token requests, want 1", st.TokenRequests)
	}
}

func TestBadAppSecret(t *testing.T) {
	env := newSimEnv(t)
	b, err := thingspace.NewREST(thingspace.RESTConfig{BaseURL: env.srv.URL, AppKey: testAppKey, AppSecret: "wrong-secret-value"})
	if err != nil {
		t.Fatal(err)
	}
	c, g := newClient(t, b, 2)
	err = c.Login(t.Context(), cred(testPassword))
	if thingspace.ClassOf(err) != thingspace.ClassBearerRejected || thingspace.CodeOf(err) != "invalid_client" {
		t.Fatalf("class %v code %q", thingspace.ClassOf(err), thingspace.CodeOf(err))
	}
	if g.Failures("dept") != 0 || env.user(t).LoginFailures != 0 {
		t.Fatal("a refused app key spent a login attempt")
	}
}
