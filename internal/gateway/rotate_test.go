package gateway_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/gateway"
	"github.com/uwsportal/uwsportal/models"
)

// Rotating a secret with no overlap ends every bearer token and session
// handle given out under the old one at once: they stop listing, and the
// old bearer cannot open a session with the new secret.
func TestRotationWithoutOverlapEndsOldTokens(t *testing.T) {
	t.Parallel()
	p := newPortal(t, gateway.Limits{})
	made := p.client(t, "fleet", models.OpList, models.OpSuspend)
	old := p.app(t, made).start()
	if a := old.list(account); !a.listed() {
		t.Fatalf("list before the rotation: %d %.200s", a.Status, a.Body)
	}
	rot, err := p.App.Gateway.RotateSecret(ctx, p.Admin, apptest.Meta, "fleet", made.Client.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if a := old.list(account); a.Status != http.StatusUnauthorized || a.code(t) != "fault:900901" {
		t.Fatalf("the old bearer and session after the rotation: %d %.200s", a.Status, a.Body)
	}
	if a := old.act("suspend", account, "5550000001", nil); a.Status != http.StatusUnauthorized {
		t.Fatalf("a suspend with the old bearer: %d %.200s", a.Status, a.Body)
	}
	mixed := *old
	mixed.password = rot.Secret
	if a := mixed.login(); a.Status != http.StatusUnauthorized {
		t.Fatalf("the old bearer opened a session with the new secret: %d %.200s", a.Status, a.Body)
	}
	fresh := p.app(t, rot).start()
	if a := fresh.list(account); !a.listed() {
		t.Fatalf("the new secret: %d %.200s", a.Status, a.Body)
	}
}

// With an overlap, what the old secret gave out (before or during the
// overlap) works until the overlap ends and not a second longer, however
// the session handle's idle expiry slides; the new secret's tokens live on.
func TestRotationOverlapEndsOldTokensWithIt(t *testing.T) {
	t.Parallel()
	p := newPortal(t, gateway.Limits{})
	made := p.client(t, "fleet", models.OpList)
	before := p.app(t, made).start()
	rot, err := p.App.Gateway.RotateSecret(ctx, p.Admin, apptest.Meta, "fleet", made.Client.ID, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	during := p.app(t, made).start() // the old secret, within the overlap
	if exp := during.lastExpiresIn; exp > 30*60 || exp < 30*60-5 {
		t.Fatalf("a token of the old secret says it lives %d s, want the overlap's 1800", exp)
	}
	mixed := *before // the old bearer, with the new secret as password
	mixed.password = rot.Secret
	if a := mixed.login(); a.Status != http.StatusOK {
		t.Fatalf("login within the overlap: %d %.200s", a.Status, a.Body)
	}
	fresh := p.app(t, rot).start()
	for i := 0; i < 3; i++ { // slide the handles' idle expiry past the overlap's end
		p.Clock.Advance(10 * time.Minute)
		for _, c := range []*vz{before, during, &mixed, fresh} {
			if a := c.list(account); !a.listed() && i < 2 {
				t.Fatalf("within the overlap (%d): %d %s", i, a.Status, a.Body)
			}
		}
	}
	for name, c := range map[string]*vz{"before": before, "during": during, "mixed": &mixed} {
		if a := c.list(account); a.Status != http.StatusUnauthorized {
			t.Fatalf("%s: after the overlap: %d %s", name, a.Status, a.Body)
		}
	}
	// The mixed session handle is dead too, even with a new bearer.
	reuse := *fresh
	reuse.session = mixed.session
	if a := reuse.list(account); a.Status != http.StatusBadRequest || !strings.Contains(a.code(t), "SessionToken") {
		t.Fatalf("a handle opened with the old bearer, after the overlap: %d %.200s", a.Status, a.Body)
	}
	if a := fresh.list(account); !a.listed() {
		t.Fatalf("the new secret after the overlap: %d %.200s", a.Status, a.Body)
	}
}
