package app

import (
	"runtime/debug"
	"testing"
)

// serve's collector target is gcPercent, unless the operator's GOGC rules.
func TestTuneGCKeepsTheOperatorsGOGC(t *testing.T) {
	old := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(old) })
	if got := TuneGC(func(string) string { return "" }); got != "200" || debug.SetGCPercent(100) != gcPercent {
		t.Fatalf("without GOGC: target %s, want %d in force", got, gcPercent)
	}
	if got := TuneGC(func(k string) string { return map[string]string{"GOGC": "50"}[k] }); got != "50" || debug.SetGCPercent(100) != 100 {
		t.Fatalf("with GOGC=50 the portal set its own target (%s)", got)
	}
}
