package faults

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/testutil"
	"github.com/uwsportal/uwsportal/internal/tsim"
)

// faults are a step's upstream faults: the acting username's tsim.Faults
// plus the two that are not per user.
type faults struct {
	user          tsim.Faults
	expireAll     bool          // every session expired before the step
	tokenLatency  time.Duration // a slow OAuth token endpoint
	names         []string
	answerMayLose bool // a reset applied now loses its answer
}

func (f faults) String() string {
	if len(f.names) == 0 {
		return "none"
	}
	return strings.Join(f.names, "+")
}

// drawFaults draws none (45 %) or one or two faults from tsim's catalogue.
func (w *world) drawFaults() faults {
	r := w.rng
	var f faults
	if r.IntN(100) < 45 {
		return f
	}
	for range 1 + r.IntN(2) {
		switch c := r.IntN(15); c {
		case 0:
			f.user.Latency = time.Duration(20+r.IntN(180)) * time.Millisecond
			f.names = append(f.names, "latency")
		case 1:
			f.user.LoginFailAfter = true
			f.names = append(f.names, "login-502-after")
		case 2:
			f.user.ResetFailBefore = true
			f.names = append(f.names, "reset-500-before")
		case 3:
			f.user.ResetFailAfter, f.answerMayLose = true, true
			f.names = append(f.names, "reset-502-after")
		case 4:
			f.user.ResetDropAfter, f.answerMayLose = true, true
			f.names = append(f.names, "reset-drop-after")
		case 5:
			f.user.ExpireSessionNext = true
			f.names = append(f.names, "expire-session-next")
		case 6:
			f.user.RejectBearerNext = true
			f.names = append(f.names, "reject-bearer-next")
		case 7, 8, 9:
			f.user.Unauthorized401Next = []string{tsim.Unauthorized401Empty, tsim.Unauthorized401HTML, tsim.Unauthorized401InvalidToken}[c-7]
			f.names = append(f.names, "401-"+f.user.Unauthorized401Next)
		case 10:
			f.user.Throttle, f.user.RetryAfter = true, time.Second
			f.names = append(f.names, "throttle-429")
		case 11:
			f.user.ResetMalformed200 = true
			f.names = append(f.names, "reset-malformed-200")
		case 12:
			f.user.SOAPFault200 = true
			f.names = append(f.names, "soap-fault-200")
		case 13:
			f.expireAll = true
			f.names = append(f.names, "expire-sessions")
		case 14:
			f.tokenLatency = 100 * time.Millisecond
			f.names = append(f.names, "slow-token")
		}
	}
	return f
}

// arm sets f on d's username; disarm removes every fault.
func (w *world) arm(f faults, d *sdept) {
	if f.expireAll {
		w.sim().ExpireSessions()
	}
	w.sim().SetTokenLatency(f.tokenLatency)
	if err := w.sim().SetFaults(d.user, f.user); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) disarm() {
	w.front.setHook(nil)
	w.sim().SetTokenLatency(0)
	for _, d := range w.depts {
		if err := w.sim().ClearFaults(d.user); err != nil {
			w.t.Fatal(err)
		}
	}
}

// abandonMidCall runs `uwsportal credential rotate` (or test) in a process
// of its own and kills it with SIGKILL when ThingSpace receives its nth
// login or reset; ThingSpace then handles that request as sent. Time then
// passes beyond the dead process's login lease.
func (w *world) abandonMidCall(p plan, d *sdept) outcome {
	op := "rotate"
	if p.sub%2 == 1 {
		op = "test"
	}
	cmd := exec.Command(w.bin, "credential", op, "--department", d.slug)
	for k, v := range w.processEnv() {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out := &testutil.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(exited) }()
	killedAt := ""
	w.onNth(p.nth, func(kind string) {
		_ = cmd.Process.Kill() // an error means it has exited already
		killedAt = kind
		select { // dead before ThingSpace handles the request
		case <-exited:
		case <-time.After(10 * time.Second):
		}
	})
	select {
	case <-exited:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
	w.front.setHook(nil)
	w.front.idle(w.t)
	err := waitErr
	w.logf("  abandon %s: killed at %q (#%d): %v; output: %s", op, killedAt, p.nth, err, clipOutput(out.String()))
	if killedAt == "login" {
		d.unaudited++
	}
	w.expireLeases()
	return outcome{abandoned: killedAt != "", killedAt: killedAt, mayRotate: op == "rotate"}
}

func clipOutput(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// processEnv is the environment of a portal process of this world.
func (w *world) processEnv() map[string]string {
	sim := w.sim()
	return map[string]string{
		"DATABASE_URL": w.url, "UWSPORTAL_MASTER_KEY": w.masterKey,
		"THINGSPACE_URL": sim.URL, "THINGSPACE_SOAP_URL": sim.URL + "/api/v2/SessionService.svc",
		"THINGSPACE_APP_KEY": apptest.SimKey, "THINGSPACE_APP_SECRET": apptest.SimSecret,
		"UWSPORTAL_QUARANTINE_THRESHOLD": strconv.Itoa(w.threshold), "UWSPORTAL_SCHEDULER": "false",
		"UWSPORTAL_LOG_LEVEL": "warn",
	}
}

// checkCtx bounds one invariant query.
func checkCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}
