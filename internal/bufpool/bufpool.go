// Package bufpool lends byte buffers for the two places the portal holds a
// whole body in memory and throws it away at once: an upstream answer being
// decoded and a page being rendered before it is written. Reusing them
// keeps the devices page and the gateway from making a fresh buffer (and
// its growth copies) on every request, which the garbage collector would
// otherwise pay for during the next request.
package bufpool

import (
	"bytes"
	"sync"
)

// maxKept is the largest buffer given back to the pool: a rare huge
// answer or page is left to the garbage collector instead of being held.
const maxKept = 1 << 20

var pool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Get lends an empty buffer; give it back with Put once nothing refers to
// its bytes.
func Get() *bytes.Buffer { return pool.Get().(*bytes.Buffer) }

// Put zeroes what b held (an answer may carry a password or a token, and
// a lent buffer must not hand it to the next borrower) and keeps b for
// reuse unless it grew beyond maxKept.
func Put(b *bytes.Buffer) {
	clear(b.Bytes())
	b.Reset()
	if b.Cap() > maxKept {
		return
	}
	pool.Put(b)
}
