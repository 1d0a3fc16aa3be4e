// Package clock is the portal's one clock. Wall time (every timestamp the
// portal stores, shows or compares with a stored one) comes from a
// func() time.Time: System in production, built once by the composition
// root (internal/app) and handed to the store and every use case; a manual
// clock in tests. Elapsed time (a request's latency, a retry's patience, a
// connection's write deadline) is measured on the monotonic clock with
// Stopwatch or Deadline: it is never stored, so tests need not control it.
// `make lint` fails on time.Now anywhere else (internal/lint/rules).
package clock

import "time"

// System is the wall clock.
func System() time.Time { return time.Now() }

// Stopwatch measures elapsed time from Start.
type Stopwatch struct{ start time.Time }

// Start starts a stopwatch.
func Start() Stopwatch { return Stopwatch{start: time.Now()} }

// Elapsed is the time since Start.
func (s Stopwatch) Elapsed() time.Duration { return time.Since(s.start) }

// Deadline is the instant d from now, for network deadlines and retry
// patience (never stored).
func Deadline(d time.Duration) time.Time { return time.Now().Add(d) }
