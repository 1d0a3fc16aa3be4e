package store

import (
	"sync"
	"testing"
)

// A statement held until another is sent is noted after it, always: the
// release and the noting are one step, so a test that reads the order
// noted (TestDevicesPageReadsItsDepartmentBesideTheSession) reads the
// order sent. Noted apart, the held statement, woken by the release,
// could be noted first while the releasing one waited for a core (seen
// in CI on two busy cores; under the race detector, as make test runs,
// it showed in every run of this test).
func TestRoundTripsNoteTheReleaseBeforeWhatItHeld(t *testing.T) {
	t.Parallel()
	for i := range 20000 {
		var r RoundTrips
		r.on = true
		r.HoldUntil("held", "until")
		var wg sync.WaitGroup
		wg.Go(func() { r.send("the held read") })
		wg.Go(func() { r.send("the until read") })
		wg.Wait()
		if r.sent[0] != "the until read" {
			t.Fatalf("run %d: the held statement was noted before the one that released it: %q", i, r.sent)
		}
	}
}
