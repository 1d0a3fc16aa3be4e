package faults

// Operation kinds: what a worker does in a step.
const (
	opEnterVerify = "enter+verify"   // a person enters a password and verifies it (right or wrong)
	opReplace     = "replace"        // a person replaces the password without verifying
	opTest        = "test"           // test login (page)
	opRotateNow   = "rotate-now"     // rotate now (page)
	opScheduler   = "scheduler"      // a scheduler pass (the credential aged first, sometimes)
	opRecover     = "recover"        // the clock past the stuck timeout, then recovery
	opClear       = "clear"          // clear quarantine
	opFix         = "fix-upstream"   // an admin sets a password in ThingSpace Manage (and enters it)
	opDeviceList  = "device-list"    // the devices page
	opDeviceAct   = "device-action"  // suspend or restore a device from the devices page
	opGatewayList = "gateway-list"   // an application lists devices through the gateway (HTTP)
	opGatewayAct  = "gateway-action" // an application suspends or restores a device through the gateway
)

// opWeights are the odds of each kind.
var opWeights = []struct {
	kind   string
	weight int
}{
	{opEnterVerify, 6}, {opReplace, 3}, {opTest, 8}, {opRotateNow, 12}, {opScheduler, 6}, {opRecover, 5},
	{opClear, 5}, {opFix, 4}, {opDeviceList, 8}, {opDeviceAct, 5}, {opGatewayList, 6}, {opGatewayAct, 4},
}

// cancellable kinds may have their caller go away mid-call.
var cancellable = map[string]bool{opEnterVerify: true, opTest: true, opRotateNow: true, opDeviceList: true}

// opPlan is one worker's operation in a step, drawn before it runs.
type opPlan struct {
	Worker   int    `json:"worker"`
	Inst     int    `json:"instance"` // 0: a, 1: b
	Kind     string `json:"kind"`
	Dept     int    `json:"dept"`
	DelayMS  int    `json:"delay_ms"`            // start after the step's start
	CancelMS int    `json:"cancel_ms,omitempty"` // the caller goes after this long (0: never)
	Right    bool   `json:"right,omitempty"`     // enter ThingSpace's current password (else Password)
	Verify   bool   `json:"verify,omitempty"`    // fix-upstream: enter with verify
	// CountReset: enter+verify states "Verizon reset the failed-login
	// count", true or not (a mistaken administrator).
	CountReset bool   `json:"count_reset,omitempty"`
	Enter      bool   `json:"enter,omitempty"`   // fix-upstream: enter at once
	Unlock     bool   `json:"unlock,omitempty"`  // fix-upstream: Verizon unlocked it (count reset)
	Age        bool   `json:"age,omitempty"`     // scheduler: age the credential first
	Yield      bool   `json:"yield,omitempty"`   // scheduler: give up leadership after the pass
	Suspend    bool   `json:"suspend,omitempty"` // device actions: suspend (else restore)
	Device     int    `json:"device,omitempty"`
	Password   string `json:"password,omitempty"` // a password ThingSpace does not know (yet)
}

// signalPlan stops an instance mid-step.
type signalPlan struct {
	Inst    int    `json:"instance"`
	Signal  string `json:"signal"` // "KILL" or "TERM"
	AfterMS int    `json:"after_ms"`
	GraceMS int    `json:"grace_ms,omitempty"` // TERM's grace period
}

// outagePlan takes the database down mid-step (every connection of both
// instances cut, new ones refused), then brings it back.
type outagePlan struct {
	AfterMS int `json:"after_ms"`
	ForMS   int `json:"for_ms"`
}

// stepPlan is every draw of one step.
type stepPlan struct {
	Ops        []opPlan     `json:"ops"`
	Faults     []deptFaults `json:"faults,omitempty"`
	ExpireAll  bool         `json:"expire_all_sessions,omitempty"`
	TokenMS    int          `json:"token_latency_ms,omitempty"`
	Signal     *signalPlan  `json:"signal,omitempty"`
	Outage     *outagePlan  `json:"outage,omitempty"`
	Checkpoint bool         `json:"checkpoint,omitempty"` // recovery gets its chance after the step
}

// checkpointEvery is how often recovery gets its chance (and the last
// step always has one).
const checkpointEvery = 6

func (w *world) drawStep(i, steps int) stepPlan {
	r := w.rng
	var p stepPlan
	for k := range 1 + r.IntN(4) {
		p.Ops = append(p.Ops, w.drawOp(k))
	}
	p.Faults = w.drawFaults(p.Ops[0].Dept)
	if r.IntN(4) == 0 {
		p.Faults = append(p.Faults, w.drawFaults(r.IntN(len(w.depts)))...)
	}
	p.ExpireAll = r.IntN(12) == 0
	if r.IntN(15) == 0 {
		p.TokenMS = 100
	}
	switch n := r.IntN(100); {
	case n < 7:
		p.Signal = &signalPlan{Inst: r.IntN(2), Signal: "KILL", AfterMS: r.IntN(250)}
	case n < 14:
		p.Signal = &signalPlan{Inst: r.IntN(2), Signal: "TERM", AfterMS: r.IntN(250), GraceMS: []int{50, 400, 5000}[r.IntN(3)]}
	}
	if r.IntN(100) < 6 {
		p.Outage = &outagePlan{AfterMS: r.IntN(200), ForMS: 50 + r.IntN(600)}
	}
	p.Checkpoint = i%checkpointEvery == checkpointEvery-1 || i == steps-1
	p.Ops = unlockAlone(p.Ops)
	return p
}

// unlockAlone keeps a step with "Verizon unlocked it" free of other
// logins with that username (other operations on the department, scheduler
// passes): the administrator's statement that ThingSpace's count is 0 is
// then true when it is made. (Two people acting on one credential at the
// very moment one of them states the count reset is outside the promise.)
func unlockAlone(ops []opPlan) []opPlan {
	unlocked := map[int]bool{}
	for _, op := range ops {
		if op.Kind == opFix && op.Unlock {
			unlocked[op.Dept] = true
		}
	}
	if len(unlocked) == 0 {
		return ops
	}
	var out []opPlan
	for _, op := range ops {
		if (op.Kind == opFix && op.Unlock) || (!unlocked[op.Dept] && op.Kind != opScheduler) {
			out = append(out, op)
		}
	}
	return out
}

func (w *world) drawOp(worker int) opPlan {
	r := w.rng
	total := 0
	for _, o := range opWeights {
		total += o.weight
	}
	n, kind := r.IntN(total), ""
	for _, o := range opWeights {
		if n < o.weight {
			kind = o.kind
			break
		}
		n -= o.weight
	}
	op := opPlan{Worker: worker, Inst: r.IntN(2), Kind: kind, Dept: r.IntN(len(w.depts)), DelayMS: r.IntN(60),
		Right: r.IntN(10) < 6, Verify: r.IntN(2) == 0, Enter: r.IntN(5) > 0, Unlock: r.IntN(5) < 2,
		Age: r.IntN(2) == 0, Yield: r.IntN(3) == 0, Suspend: r.IntN(2) == 0, Device: r.IntN(4), Password: password(r),
		CountReset: r.IntN(4) == 0}
	if cancellable[kind] && r.IntN(6) == 0 {
		op.CancelMS = 1 + r.IntN(120)
	}
	return op
}
