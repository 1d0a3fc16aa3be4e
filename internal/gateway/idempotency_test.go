package gateway_test

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/gateway"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

// An Idempotency-Key claimed by many requests at once is claimed by one;
// the others see it in flight, then its answer once kept.
func TestIdempotencyKeyClaimedOnceUnderConcurrency(t *testing.T) {
	t.Parallel()
	p := newPortal(t, gateway.Limits{})
	id := p.client(t, "fleet", models.OpSuspend).Client.ID
	sum := []byte("body hash")
	now := p.Clock.Now()
	type claim struct {
		prior   store.Idempotent
		claimed bool
		err     error
	}
	out := make([]claim, 8)
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() {
			prior, claimed, err := p.DB.ClaimIdempotency(ctx, id, "k", sum, now, gateway.IdempotentKeep)
			out[i] = claim{prior, claimed, err}
		})
	}
	wg.Wait()
	claimed := 0
	for _, c := range out {
		switch {
		case c.err != nil:
			t.Fatal(c.err)
		case c.claimed:
			claimed++
		case !bytes.Equal(c.prior.BodyHash, sum) || c.prior.Status != 0:
			t.Fatalf("a second claim saw %+v, want the first in flight", c.prior)
		}
	}
	if claimed != 1 {
		t.Fatalf("%d of 8 claimed the key", claimed)
	}
	if err := p.DB.FinishIdempotency(ctx, id, "k", 200, []byte("answer")); err != nil {
		t.Fatal(err)
	}
	prior, again, err := p.DB.ClaimIdempotency(ctx, id, "k", sum, now.Add(time.Minute), gateway.IdempotentKeep)
	if err != nil || again || prior.Status != 200 || string(prior.Body) != "answer" {
		t.Fatalf("after the answer was kept: %+v %v %v", prior, again, err)
	}
	if _, again, err := p.DB.ClaimIdempotency(ctx, id, "k", []byte("other"), now.Add(gateway.IdempotentKeep+time.Second), gateway.IdempotentKeep); err != nil || !again {
		t.Fatalf("a key older than the keep was not claimed again: %v %v", again, err)
	}
}
