package faults

import (
	"strings"
	"time"

	"github.com/uwsportal/uwsportal/internal/tsim"
)

// deptFaults are a step's upstream faults on one department's username.
type deptFaults struct {
	Dept  int         `json:"dept"`
	Names []string    `json:"names"`
	F     tsim.Faults `json:"faults"`
}

func (f deptFaults) String() string { return strings.Join(f.Names, "+") }

// drawFaults draws none (45 %) or one or two faults from tsim's catalogue
// for department d.
func (w *world) drawFaults(d int) []deptFaults {
	r := w.rng
	if r.IntN(100) < 45 {
		return nil
	}
	df := deptFaults{Dept: d}
	f := &df.F
	add := func(name string) { df.Names = append(df.Names, name) }
	for range 1 + r.IntN(2) {
		switch c := r.IntN(19); c {
		case 0:
			f.Latency = time.Duration(20+r.IntN(180)) * time.Millisecond
			add("latency")
		case 1:
			f.LoginFailAfter = true
			add("login-502-after")
		case 2:
			f.ResetFailBefore = true
			add("reset-500-before")
		case 3:
			f.ResetFailAfter = true
			add("reset-502-after")
		case 4:
			f.ResetDropAfter = true
			add("reset-drop-after")
		case 5:
			f.ExpireSessionNext = true
			add("expire-session-next")
		case 6:
			f.RejectBearerNext = true
			add("reject-bearer-next")
		case 7, 8, 9:
			f.Unauthorized401Next = []string{tsim.Unauthorized401Empty, tsim.Unauthorized401HTML, tsim.Unauthorized401InvalidToken}[c-7]
			add("401-" + f.Unauthorized401Next)
		case 10:
			f.Throttle, f.RetryAfter = true, time.Second
			add("throttle-429")
		case 11:
			f.ResetMalformed200 = true
			add("reset-malformed-200")
		case 12:
			f.SOAPFault200 = true
			add("soap-fault-200")
		case 13:
			f.ResetCutAfter = 3 + r.IntN(12) // before the password ends
			add("reset-cut-early")
		case 14:
			f.ResetCutAfter = -(1 + r.IntN(2)) // the password whole (REST: `"}\n` is its tail), the rest cut
			add("reset-cut-late")
		case 15:
			f.ResetCutHeaders = true
			add("reset-cut-headers")
		case 16:
			f.LoginCutAfter = 1 + r.IntN(20)
			add("login-cut")
		case 17:
			f.LoginCutHeaders = true
			add("login-cut-headers")
		case 18:
			f.DeviceActionDropAfter = true
			add("device-action-drop-after")
		}
	}
	return []deptFaults{df}
}

// arm sets the step's faults; disarm removes every fault.
func (w *world) arm(p stepPlan) {
	if p.ExpireAll {
		w.sim().ExpireSessions()
	}
	w.sim().SetTokenLatency(time.Duration(p.TokenMS) * time.Millisecond)
	for _, f := range p.Faults {
		if err := w.sim().SetFaults(w.depts[f.Dept].user, f.F); err != nil {
			w.t.Fatal(err)
		}
		for _, n := range f.Names {
			w.stats.fault(n)
		}
	}
	if p.ExpireAll {
		w.stats.fault("expire-sessions")
	}
	if p.TokenMS > 0 {
		w.stats.fault("slow-token")
	}
}

func (w *world) disarm() {
	w.sim().SetTokenLatency(0)
	for _, d := range w.depts {
		if err := w.sim().ClearFaults(d.user); err != nil {
			w.t.Fatal(err)
		}
	}
}
