package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// Issue 16.3: forty wrong passwords at once must not all be checked
// against a limit of five (the count was read before bcrypt and written
// after it).
func TestBreakGlassThrottleHoldsUnderParallelAttempts(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testdb.New(t), nil)
	setBreakGlass(t, ts, "breakglass")
	const n = 40
	type answer struct {
		status int
		body   string
	}
	answers := make(chan answer, n)
	clients := make([]*http.Client, n)
	tokens := make([]string, n)
	for i := range clients {
		clients[i] = anonClient()
		tokens[i] = ts.csrf(t, clients[i])
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			form := url.Values{"username": {"breakglass"}, "password": {fmt.Sprint("Wrong-Password-", i)}, "csrf_token": {tokens[i]}}
			req, err := http.NewRequest(http.MethodPost, ts.URL+"/login/local", strings.NewReader(form.Encode()))
			if err != nil {
				answers <- answer{status: -1, body: err.Error()}
				return
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			res, err := clients[i].Do(req)
			if err != nil {
				answers <- answer{status: -1, body: err.Error()}
				return
			}
			defer res.Body.Close()
			var b strings.Builder
			_, _ = fmt.Fprint(&b, readAll(res))
			answers <- answer{status: res.StatusCode, body: b.String()}
		})
	}
	wg.Wait()
	close(answers)
	checked, throttled := 0, 0
	for a := range answers {
		switch {
		case a.status == http.StatusOK && strings.Contains(a.body, "Wrong username or password"):
			checked++
		case a.status == http.StatusTooManyRequests:
			throttled++
		default:
			t.Errorf("unexpected answer %d: %.200s", a.status, a.body)
		}
	}
	if checked > 5 || checked+throttled != n {
		t.Fatalf("%d passwords were checked against a limit of 5 (%d throttled)", checked, throttled)
	}
}

// Issue 16.3: a throttled account opens again after a short, growing
// back-off rather than a 15-minute lock, so twenty failures behind one
// proxy do not shut break-glass for everyone for a quarter of an hour.
func TestBreakGlassBacksOffExponentially(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testdb.New(t), nil)
	setBreakGlass(t, ts, "breakglass")
	ctx := context.Background()
	try := func(pw string) error {
		_, err := ts.people.LocalSignIn(ctx, "breakglass", secret.Secret(pw), models.RequestMeta{SourceIP: "198.51.100.7"})
		return err
	}
	for range 5 {
		if err := try("Wrong-Password-123!"); !errors.Is(err, models.ErrUnauthorized) {
			t.Fatalf("a wrong password: %v", err)
		}
	}
	if err := try(breakGlassPassword); !errors.Is(err, models.ErrRateLimited) {
		t.Fatalf("the sixth attempt was not throttled: %v", err)
	}
	ts.Clock.Advance(31 * time.Second)
	if err := try("Wrong-Password-123!"); !errors.Is(err, models.ErrUnauthorized) {
		t.Fatalf("after the first back-off: %v", err)
	}
	// The next wait is longer than the first.
	ts.Clock.Advance(31 * time.Second)
	if err := try(breakGlassPassword); !errors.Is(err, models.ErrRateLimited) {
		t.Fatalf("the back-off did not grow: %v", err)
	}
	ts.Clock.Advance(31 * time.Second)
	if err := try(breakGlassPassword); err != nil {
		t.Fatalf("after the second back-off the right password fails: %v", err)
	}
}

// Issue 16.3: every address of one IPv6 /64 is one client.
func TestBreakGlassCountsIPv6PerSlash64(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testdb.New(t), nil)
	ctx := context.Background()
	var last error
	for i := range 40 {
		ip := fmt.Sprintf("2001:db8:1:2::%x", i+1)
		_, last = ts.people.LocalSignIn(ctx, fmt.Sprint("nobody", i), secret.Secret("Wrong-Password-123!"), models.RequestMeta{SourceIP: ip})
		if errors.Is(last, models.ErrRateLimited) {
			return
		}
	}
	t.Fatalf("forty failures from one /64 were never throttled: %v", last)
}

// Issue 16.3: break-glass can be turned off.
func TestBreakGlassCanBeTurnedOff(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testdb.New(t), map[string]string{"UWSPORTAL_BREAK_GLASS": "off"})
	setBreakGlass(t, ts, "breakglass")
	c := anonClient()
	if res, _ := do(t, c, http.MethodGet, ts.URL+"/login/local", nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /login/local with break-glass off: %d", res.StatusCode)
	}
	res, _ := ts.post(t, c, "/login/local", url.Values{"username": {"breakglass"}, "password": {breakGlassPassword}})
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("POST /login/local with break-glass off: %d", res.StatusCode)
	}
}
