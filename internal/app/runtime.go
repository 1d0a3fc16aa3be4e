package app

import (
	"runtime/debug"
	"strconv"
)

// gcPercent is the garbage collector's target the portal runs with unless
// GOGC is set: the heap may grow to three times what is live (Go's default
// is two). A request allocates several times what stays live (an upstream
// answer decoded, a page rendered), so with the default the collector runs
// every few requests and the request it lands on pays for it; this halves
// how often, for a live heap of a few tens of MB (BENCHMARKS.md: the
// devices page's added p95 and the load test's peak RSS).
const gcPercent = 200

// TuneGC sets the collector's target for serving (gcPercent) unless the
// operator set GOGC, which Go has then applied, and returns the target in
// force. serve calls it, and the benchmarks that measure what serve
// answers.
func TuneGC(getenv func(string) string) string {
	if v := getenv("GOGC"); v != "" {
		return v
	}
	debug.SetGCPercent(gcPercent)
	return strconv.Itoa(gcPercent)
}
