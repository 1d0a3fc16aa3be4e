package tsim

import "github.com/uwsportal/uwsportal/internal/testutil"

// Clock is the tests' manual clock: pass its Now to Options.Now (and to the
// client under test) and move time with Advance instead of sleeping.
type Clock = testutil.Clock

// NewClock returns a clock set to start.
var NewClock = testutil.NewClock
