package groupcommit_test

import (
	"sync"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/groupcommit"
)

// Values handed in while a batch runs make the next batch, and each
// caller gets its own value's result.
func TestValuesArrivingTogetherShareABatch(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var sizes []int
	q := &groupcommit.Queue[int, int]{Max: 8, Run: func(batch []int) []int {
		mu.Lock()
		sizes = append(sizes, len(batch))
		first := len(sizes) == 1
		mu.Unlock()
		if first {
			close(started)
			<-release // the next values arrive while this batch runs
		}
		out := make([]int, len(batch))
		for i, v := range batch {
			out[i] = v * 10
		}
		return out
	}}
	var wg sync.WaitGroup
	results := make([]int, 7)
	wg.Go(func() { results[0] = q.Do(0) })
	<-started
	for i := 1; i < len(results); i++ {
		wg.Go(func() { results[i] = q.Do(i) })
	}
	for q.Queued() < len(results)-1 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	for i, r := range results {
		if r != i*10 {
			t.Fatalf("value %d got %d, want %d", i, r, i*10)
		}
	}
	if len(sizes) != 2 || sizes[0] != 1 || sizes[1] != 6 {
		t.Fatalf("batch sizes %v, want [1 6]", sizes)
	}
}
