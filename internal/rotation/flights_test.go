package rotation

import (
	"context"
	"sync"
	"testing"
	"time"
)

// Shutdown may wait while rotations are starting (a scheduler pass, a
// request): each one either was counted before wait began, and wait
// returns only after it ended, or is refused (go test -race: a WaitGroup
// here is a data race).
func TestFlightsWaitWhileRotationsStart(t *testing.T) {
	var f flights
	var mu sync.Mutex
	running := 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				if !f.begin() {
					return
				}
				mu.Lock()
				running++
				mu.Unlock()
				time.Sleep(time.Millisecond)
				mu.Lock()
				running--
				mu.Unlock()
				f.end()
			}
		})
	}
	time.Sleep(5 * time.Millisecond)
	if err := f.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	left := running
	mu.Unlock()
	if left != 0 {
		t.Fatalf("wait returned with %d rotations running", left)
	}
	if f.begin() {
		t.Fatal("a rotation started after wait")
	}
	wg.Wait()
}

// wait gives up when ctx ends, the rotation still counted.
func TestFlightsWaitEndsWithItsContext(t *testing.T) {
	var f flights
	if !f.begin() {
		t.Fatal("refused before any wait")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := f.wait(ctx); err == nil {
		t.Fatal("wait returned nil with a rotation in flight")
	}
	f.end()
	if err := f.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}
