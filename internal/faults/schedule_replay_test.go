package faults

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// trace is a run's replay: the world's draws, then per step the plan (the
// operations with their workers, instances and start offsets, the
// faults, the signal, the outage) and the interleaving observed upstream
// (which instance sent which login, reset or device call, in order).
// UWSPORTAL_FAULT_REPLAY=path runs the same steps again and holds each
// upstream call until the calls recorded before it have been made (at
// most replayPatience), so the interleaving at ThingSpace is the
// recorded one.
type trace struct {
	Setup worldSetup  `json:"setup"`
	Steps []traceStep `json:"steps"`
}

type traceStep struct {
	Plan     stepPlan `json:"plan"`
	Calls    []call   `json:"upstream_calls"`
	Outcomes []string `json:"outcomes"`
}

// replayPatience bounds how long a replayed call waits for its turn.
const replayPatience = 500 * time.Millisecond

func (w *world) record(p stepPlan, run stepRun) {
	var out []string
	for k, r := range run.results {
		out = append(out, fmt.Sprintf("w%d: ran=%v %s", p.Ops[k].Worker, r.ran, r.summary))
	}
	last := &w.trace.Steps[len(w.trace.Steps)-1]
	last.Calls, last.Outcomes = run.calls, out
}

// writeTrace writes the replay of the steps so far and returns its path
// (UWSPORTAL_FAULT_REPLAY_DIR, else the system's temporary directory: a
// test's own directory is removed when it fails).
func (w *world) writeTrace() string {
	if w.replaying != nil {
		w.trace.Steps = append(w.trace.Steps, w.replaying[len(w.trace.Steps):]...) // the steps not reached
	}
	dir := os.Getenv("UWSPORTAL_FAULT_REPLAY_DIR")
	if dir == "" {
		dir = os.TempDir()
	}
	path := filepath.Join(dir, fmt.Sprintf("uwsportal-faults-seed%d-%d.json", w.seed, time.Now().UnixNano()))
	b, err := json.MarshalIndent(w.trace, "", " ")
	if err == nil {
		err = os.WriteFile(path, b, 0o600)
	}
	if err != nil {
		return fmt.Sprintf("(could not write the replay: %v)", err)
	}
	return path
}

// loadTrace reads a replay.
func loadTrace(path string) (*trace, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var tr trace
	if err := json.Unmarshal(b, &tr); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(tr.Steps) == 0 {
		return nil, fmt.Errorf("%s: no steps", path)
	}
	return &tr, nil
}

// replayCalls are step i's recorded upstream calls when replaying.
func (w *world) replayCalls(i int) []call {
	if w.replaying == nil || i >= len(w.replaying) {
		return nil
	}
	return w.replaying[i].Calls
}

// expectStep sets the calls the step is expected to make, in order (nil:
// no order is imposed).
func (f *front) expectStep(calls []call) {
	f.mu.Lock()
	f.expect, f.used = calls, make([]bool, len(calls))
	f.mu.Unlock()
}

// inTurn holds c until every expected call before the first unused one
// like it has been made (or replayPatience passed).
func (f *front) inTurn(c call) {
	deadline := time.Now().Add(replayPatience)
	for {
		f.mu.Lock()
		idx, blocked := -1, false
		for j, e := range f.expect {
			if f.used[j] {
				continue
			}
			if e.Instance == c.Instance && e.Kind == c.Kind && e.User == c.User {
				idx = j
				break
			}
			blocked = true
		}
		if idx < 0 || !blocked || time.Now().After(deadline) {
			if idx >= 0 {
				f.used[idx] = true
			}
			if idx < 0 || blocked {
				f.diverged++
			}
			f.mu.Unlock()
			return
		}
		f.mu.Unlock()
		time.Sleep(time.Millisecond)
	}
}
