package faults

import (
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/testutil"
	"github.com/uwsportal/uwsportal/internal/tsim"
)

// Two portal processes rotate the same credential at the same moment:
// exactly one reset reaches ThingSpace, the other is told a rotation is in
// progress, and the stored password is the one ThingSpace issued.
func TestTwoProcessesRotateOnce(t *testing.T) {
	t.Parallel()
	sim, env := simEnv(t)
	p := &portal{URL: env["UWSPORTAL_BASE_URL"], Env: env}
	p.run(t, "", "migrate")
	p.run(t, "", "department", "create", "--slug", "fleet", "--name", "Fleet")
	p.run(t, uwsPass+"\n", "credential", "set", "--department", "fleet", "--username", uwsUser)
	bin := buildPortal(t)
	// A little latency keeps both processes inside the same window.
	if err := sim.SetFaults(uwsUser, tsim.Faults{Latency: 300 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	outs := make([]*testutil.Buffer, 2)
	errs := make([]error, 2)
	for i := range 2 {
		outs[i] = &testutil.Buffer{}
		cmd := exec.Command(bin, "credential", "rotate", "--department", "fleet")
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		cmd.Stdout, cmd.Stderr = outs[i], outs[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = cmd.Run()
		}()
	}
	wg.Wait()
	ok, refused := 0, 0
	for i := range 2 {
		switch {
		case errs[i] == nil:
			ok++
		case strings.Contains(outs[i].String(), "already in progress"):
			refused++
		default:
			t.Fatalf("process %d: %v\n%s", i, errs[i], outs[i].String())
		}
	}
	up, _ := sim.User(uwsUser)
	if ok != 1 || refused != 1 || up.ResetsApplied != 1 || up.LoginFailures != 0 {
		t.Fatalf("ok %d refused %d, simulator %+v\n%s\n%s", ok, refused, up, outs[0].String(), outs[1].String())
	}
	if err := sim.SetFaults(uwsUser, tsim.Faults{}); err != nil {
		t.Fatal(err)
	}
	if out := p.run(t, "", "credential", "test", "--department", "fleet"); !strings.Contains(out, "worked") {
		t.Fatalf("the stored password does not match ThingSpace's: %s", out)
	}
}
