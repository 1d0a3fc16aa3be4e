package faults

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// figures count what a run did: steps, operations and how many ran at
// once, faults injected per kind, signals, outages, invariant checks.
type figures struct {
	mu          sync.Mutex
	Seeds       int
	Steps       int
	Ops         map[string]int
	inFlight    int
	MaxRunning  int // operations in flight at the same moment, at most
	Overlapping int // steps in which two or more operations were in flight at once
	stepMax     int
	Faults      map[string]int
	Checks      map[string]int
	Known       map[string]int
	Checkpoints int
}

func newFigures() *figures {
	return &figures{Ops: map[string]int{}, Faults: map[string]int{}, Checks: map[string]int{}, Known: map[string]int{}}
}

func (f *figures) op(kind string) {
	f.mu.Lock()
	f.Ops[kind]++
	f.mu.Unlock()
}

// running counts an operation in flight until the returned func is called.
func (f *figures) running() func() {
	f.mu.Lock()
	f.inFlight++
	f.MaxRunning = max(f.MaxRunning, f.inFlight)
	f.stepMax = max(f.stepMax, f.inFlight)
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}
}

// endStep closes a step's count of overlapping operations.
func (f *figures) endStep() {
	f.mu.Lock()
	f.Steps++
	if f.stepMax >= 2 {
		f.Overlapping++
	}
	f.stepMax = 0
	f.mu.Unlock()
}

func (f *figures) fault(name string) { f.add(f.Faults, name) }
func (f *figures) check(name string) { f.add(f.Checks, name) }
func (f *figures) known(name string) { f.add(f.Known, name) }

func (f *figures) add(m map[string]int, k string) {
	f.mu.Lock()
	m[k]++
	f.mu.Unlock()
}

// merge adds o's counts to f.
func (f *figures) merge(o *figures) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o.mu.Lock()
	defer o.mu.Unlock()
	f.Seeds++
	f.Steps += o.Steps
	f.Overlapping += o.Overlapping
	f.Checkpoints += o.Checkpoints
	f.MaxRunning = max(f.MaxRunning, o.MaxRunning)
	for _, p := range [][2]map[string]int{{f.Ops, o.Ops}, {f.Faults, o.Faults}, {f.Checks, o.Checks}, {f.Known, o.Known}} {
		for k, v := range p[1] {
			p[0][k] += v
		}
	}
}

func (f *figures) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	total := func(m map[string]int) int {
		n := 0
		for _, v := range m {
			n += v
		}
		return n
	}
	list := func(m map[string]int) string {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(m)) {
			parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprintf("seeds %d; steps %d (%d with operations overlapping in time; at most %d operations in flight at once; recovery checkpoints %d)\n"+
		"operations %d: %s\nfaults injected %d: %s\ninvariant checks %d: %s\nexcused as known defects %d: %s",
		f.Seeds, f.Steps, f.Overlapping, f.MaxRunning, f.Checkpoints, total(f.Ops), list(f.Ops), total(f.Faults), list(f.Faults),
		total(f.Checks), list(f.Checks), total(f.Known), list(f.Known))
}
