package faults

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// stepRun is what happened in a step, beyond the operations' results.
type stepRun struct {
	results []opResult
	started []atomic.Bool   // the operation was admitted by its instance (it may have died since)
	killed  map[string]bool // instances that died in the step (SIGKILL, or SIGTERM's grace ran out)
	termed  map[string]bool // instances stopped cleanly by SIGTERM
	outage  bool
	calls   []call
	dropped map[string]int // logins a dead instance's door dropped, by username
}

// runStep runs the step's operations at once, each on its instance after
// its delay, with the step's faults, signal and outage, then brings dead
// instances back and checks the invariants.
func (w *world) runStep(i int, p stepPlan) {
	before := w.snapshot()
	w.logf("step %d: %s", i, describe(p))
	w.trace.Steps = append(w.trace.Steps, traceStep{Plan: p}) // a failure's replay includes its step
	w.front.expectStep(w.replayCalls(i))
	w.arm(p)
	run := stepRun{results: make([]opResult, len(p.Ops)), killed: map[string]bool{}, termed: map[string]bool{}}
	insts := w.inst // as of the step's start
	done := make([]chan opResult, len(p.Ops))
	run.started = make([]atomic.Bool, len(p.Ops))
	for k, op := range p.Ops {
		done[k] = make(chan opResult, 1) // a dead instance's operation may end any time later
		go func() {
			time.Sleep(time.Duration(op.DelayMS) * time.Millisecond)
			done[k] <- w.runOp(op, insts[op.Inst], &run.started[k])
		}()
	}
	var bg sync.WaitGroup
	var mu sync.Mutex
	if s := p.Signal; s != nil {
		bg.Add(1)
		go func() {
			defer bg.Done()
			name, cut := w.signal(s, insts[s.Inst])
			mu.Lock()
			if cut {
				run.killed[name] = true
			} else {
				run.termed[name] = true
			}
			mu.Unlock()
		}()
	}
	if o := p.Outage; o != nil {
		run.outage = true
		bg.Add(1)
		go func() { defer bg.Done(); w.outage(o, insts) }()
	}
	bg.Wait()
	w.waitOps(p, insts, done, run.results)
	w.disarm()
	w.front.idle(w.t)
	run.calls, run.dropped = w.front.take(), w.front.takeDropped()
	w.stats.endStep()
	if run.outage {
		w.afterOutage()
	}
	w.restartDead()
	w.record(p, run)
	w.check(p, run, before)
	if p.Checkpoint {
		w.checkpoint()
	}
}

// signal stops in as the plan says, after its delay.
func (w *world) signal(s *signalPlan, in *instance) (name string, cut bool) {
	time.Sleep(time.Duration(s.AfterMS) * time.Millisecond)
	if s.Signal == "KILL" {
		w.stats.fault("SIGKILL")
		in.die()
		w.logf("  SIGKILL %s after %d ms", in.name, s.AfterMS)
		return in.name, true
	}
	w.stats.fault("SIGTERM")
	cut = in.terminate(time.Duration(s.GraceMS) * time.Millisecond)
	if cut {
		w.stats.fault("SIGTERM-grace-ran-out")
	}
	w.logf("  SIGTERM %s after %d ms, grace %d ms: the grace period ran out: %v", in.name, s.AfterMS, s.GraceMS, cut)
	return in.name, cut
}

// outage takes the database away from every instance (all connections
// cut, new ones refused), then brings it back: a PostgreSQL restart.
func (w *world) outage(o *outagePlan, insts [2]*instance) {
	time.Sleep(time.Duration(o.AfterMS) * time.Millisecond)
	w.stats.fault("postgres-outage")
	for _, in := range insts {
		in.proxy.Down()
	}
	w.logf("  postgres down after %d ms, for %d ms", o.AfterMS, o.ForMS)
	time.Sleep(time.Duration(o.ForMS) * time.Millisecond)
	for _, in := range insts {
		in.mu.Lock()
		if !in.dead {
			in.proxy.Up()
		}
		in.mu.Unlock()
	}
}

// afterOutage drops the live instances' pooled connections the outage
// killed once the step's operations ended, so that the outage's effects
// stay in its step: otherwise the first statement on each dead connection
// fails in a later step, and a failed settle there leaves its lease held
// until it expires (the guard counts it then, the safe side).
func (w *world) afterOutage() {
	for _, in := range w.inst {
		if in.alive() {
			in.db.Pool.Reset()
		}
	}
}

// waitOps waits for the step's operations: those of a live instance must
// end (a hang is a failure); those of a dead one may still run in its
// goroutines, which can no longer reach anything, and are left behind.
func (w *world) waitOps(p stepPlan, insts [2]*instance, done []chan opResult, results []opResult) {
	for k, op := range p.Ops {
		in := insts[op.Inst]
		patience := time.Minute
		if !in.alive() {
			patience = 2 * time.Second
		}
		select {
		case results[k] = <-done[k]:
		case <-time.After(patience):
			if in.alive() {
				w.fail("w%d's %s on %s has not ended after %s", op.Worker, op.Kind, in.name, patience)
			}
			w.logf("  w%d's %s died with %s", op.Worker, op.Kind, in.name)
		}
	}
}

// restartDead starts a new life of every instance that died or stopped.
func (w *world) restartDead() {
	for i, in := range w.inst {
		if in.alive() {
			continue
		}
		w.inst[i] = w.startInstance(i, in.life+1)
	}
}

func describe(p stepPlan) string {
	var parts []string
	for _, op := range p.Ops {
		parts = append(parts, fmt.Sprintf("w%d %s dept%d on %c +%dms", op.Worker, op.Kind, op.Dept, 'a'+op.Inst, op.DelayMS))
	}
	s := strings.Join(parts, " | ")
	for _, f := range p.Faults {
		s += fmt.Sprintf("; faults dept%d %s", f.Dept, f)
	}
	if p.Signal != nil {
		s += fmt.Sprintf("; SIG%s %c at +%dms", p.Signal.Signal, 'a'+p.Signal.Inst, p.Signal.AfterMS)
	}
	if p.Outage != nil {
		s += fmt.Sprintf("; postgres down at +%dms for %dms", p.Outage.AfterMS, p.Outage.ForMS)
	}
	return s
}
