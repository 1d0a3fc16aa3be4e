package testutil

import (
	"sync"
	"testing"
	"time"
)

// Clock is the one manual clock of the tests: pass its Now wherever a
// clock is injected (the composition root, the simulator, the IdP) and
// move time with Advance instead of sleeping.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock set to start.
func NewClock(start time.Time) *Clock { return &Clock{t: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var clocks sync.Map // testing.TB or a database handle → *Clock

// ClockFor is t's manual clock, the same for every database and portal
// instance the test opens (set to the current time on first use).
func ClockFor(t testing.TB) *Clock {
	if c, ok := clocks.Load(t); ok {
		return c.(*Clock)
	}
	c, loaded := clocks.LoadOrStore(t, NewClock(time.Now()))
	if !loaded {
		t.Cleanup(func() { clocks.Delete(t) })
	}
	return c.(*Clock)
}

// BindClock records that key (a database handle) was opened with c, so
// that a portal built over it later takes the same clock (ClockOf).
func BindClock(t testing.TB, key any, c *Clock) {
	clocks.Store(key, c)
	t.Cleanup(func() { clocks.Delete(key) })
}

// ClockOf is the clock key was opened with, if any.
func ClockOf(key any) (*Clock, bool) {
	c, ok := clocks.Load(key)
	if !ok {
		return nil, false
	}
	return c.(*Clock), true
}
