package faults

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/testutil"

	"github.com/jackc/pgx/v5"

	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/internal/tsim"
)

const (
	uwsUser = "fleet_ops_mycompanyUWS"
	uwsPass = "Wq7#mZ2!pLx9vK4r"
)

// buildPortal compiles the real binary once per test binary.
func buildPortal(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "uwsportal")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/uwsportal/uwsportal/cmd/uwsportal")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// simEnv is a simulator with the fleet user and the portal environment
// pointing at it and at a fresh database.
func simEnv(t *testing.T) (*tsim.Server, map[string]string) {
	t.Helper()
	sim := tsim.New(tsim.Options{AppKey: "k", AppSecret: "s", Users: map[string]string{uwsUser: uwsPass}})
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	addr := freeAddr(t)
	return sim, map[string]string{
		"DATABASE_URL": testdb.URL(t), "UWSPORTAL_MASTER_KEY": secret.GenerateKey(),
		"UWSPORTAL_ADDR": addr, "UWSPORTAL_BASE_URL": "http://" + addr, "UWSPORTAL_SCHEDULER": "false",
		"THINGSPACE_URL": hs.URL, "THINGSPACE_SOAP_URL": hs.URL + "/api/v2/SessionService.svc",
		"THINGSPACE_APP_KEY": "k", "THINGSPACE_APP_SECRET": "s", "UWSPORTAL_SHUTDOWN_TIMEOUT": "20s",
	}
}

// SIGTERM while a slow rotation request is in flight: the process stops
// accepting, lets the request (and its rotation) finish, and exits 0.
func TestSIGTERMDuringARotationRequest(t *testing.T) {
	t.Parallel()
	sim, env := simEnv(t)
	p, cmd, logs := serveFleet(t, env)
	waitUp(t, p.URL, logs)

	c := browser()
	p.signInBreakGlass(t, c)
	if err := sim.SetFaults(uwsUser, tsim.Faults{Latency: 1500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}

	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		status, _, err := fetch(c, http.MethodPost, p.URL+"/departments/fleet/rotate", url.Values{"csrf_token": {p.csrf(c)}})
		done <- result{status, err}
	}()
	time.Sleep(700 * time.Millisecond) // the rotation is now waiting on ThingSpace
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// New connections are refused soon after the signal.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := http.Get(p.URL + "/healthz"); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections after SIGTERM")
		}
		time.Sleep(50 * time.Millisecond)
	}
	r := <-done
	if r.err != nil || r.status != http.StatusSeeOther {
		t.Fatalf("the in-flight request was cut: %d %v\n%s", r.status, r.err, logs.String())
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, logs.String())
	}
	// The rotation completed: stored state and the simulator agree.
	conn, err := pgx.Connect(context.Background(), env["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var state string
	var version int
	if err := conn.QueryRow(context.Background(), "SELECT state, version FROM credentials").Scan(&state, &version); err != nil {
		t.Fatal(err)
	}
	if up, _ := sim.User(uwsUser); state != "idle" || version != 2 || up.ResetsApplied != 1 || up.Password == uwsPass {
		t.Fatalf("after shutdown: state %s version %d, simulator %+v", state, version, up)
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Fatal("no orderly stop in the log")
	}
}

func waitUp(t *testing.T, base string, logs *testutil.Buffer) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if res, err := http.Get(base + "/readyz"); err == nil {
			if err := res.Body.Close(); err != nil {
				t.Fatal(err)
			}
			if res.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("portal did not become ready:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill -9 while ThingSpace is applying a reset: the next instance finds the
// rotation stuck and resolves it with at most one login attempt, never
// locking the account, and tells an admin what to do.
func TestKill9DuringAResetIsResolvedByTheNextInstance(t *testing.T) {
	t.Parallel()
	sim, env := simEnv(t)
	resetIn, resetDone := watchResets(t, sim, env)
	p := &portal{URL: env["UWSPORTAL_BASE_URL"], Env: env}
	p.run(t, "", "migrate")
	p.run(t, "", "department", "create", "--slug", "fleet", "--name", "Fleet")
	p.run(t, uwsPass+"\n", "credential", "set", "--department", "fleet", "--username", uwsUser)
	bin := buildPortal(t)

	if err := sim.SetFaults(uwsUser, tsim.Faults{Latency: 1500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	rot := exec.Command(bin, "credential", "rotate", "--department", "fleet")
	for k, v := range env {
		rot.Env = append(rot.Env, k+"="+v)
	}
	logs := &testutil.Buffer{}
	rot.Stdout, rot.Stderr = logs, logs
	if err := rot.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-resetIn: // the reset is in flight (the simulator answers 1.5 s later)
	case <-time.After(60 * time.Second):
		t.Fatalf("no reset reached ThingSpace\n%s", logs.String())
	}
	if err := rot.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := rot.Wait(); err == nil {
		t.Fatal("the killed rotation exited 0")
	}
	<-resetDone // the simulator has applied the reset; its answer found no one
	if err := sim.SetFaults(uwsUser, tsim.Faults{}); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, env["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var state string
	if err := conn.QueryRow(ctx, "SELECT state FROM credentials").Scan(&state); err != nil {
		t.Fatal(err)
	}
	if state != "resetting" {
		t.Fatalf("the killed rotation left state %q (logs: %s)", state, logs.String())
	}
	// As if the stuck timeout had passed.
	if _, err := conn.Exec(ctx, "UPDATE credentials SET state_since = now() - interval '1 hour'"); err != nil {
		t.Fatal(err)
	}
	state = waitResolved(t, conn, startPortal(t, env))
	up, _ := sim.User(uwsUser)
	if up.ResetsApplied != 1 || up.MaxConsecutiveFailures > 1 || up.Locked {
		t.Fatalf("simulator after recovery: %+v", up)
	}
	// The reset was applied and its answer died with the process: the old
	// password no longer works, so an admin must act, and is told how.
	if state != "attention" {
		t.Fatalf("state %s", state)
	}
	var result string
	if err := conn.QueryRow(ctx, "SELECT result FROM rotation_runs ORDER BY id DESC LIMIT 1").Scan(&result); err != nil {
		t.Fatal(err)
	}
	if result != "attention" {
		t.Fatalf("run result %q", result)
	}
}

// waitResolved waits for the next instance to resolve the stuck rotation
// and returns the state it left.
func waitResolved(t *testing.T, conn *pgx.Conn, next *portal) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var state string
		if err := conn.QueryRow(context.Background(), "SELECT state FROM credentials").Scan(&state); err != nil {
			t.Fatal(err)
		}
		if state == "attention" || state == "idle" {
			return state
		}
		if time.Now().After(deadline) {
			t.Fatalf("not resolved: %s\n%s", state, next.Logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// watchResets puts a watcher between the portal (env) and the simulator
// that signals each reset's arrival and end, rather than guess how long a
// process takes to start and log in on a loaded machine.
func watchResets(t *testing.T, sim *tsim.Server, env map[string]string) (in, done chan struct{}) {
	in, done = make(chan struct{}, 1), make(chan struct{}, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reset := r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/password/actions/reset")
		if reset {
			in <- struct{}{}
		}
		sim.ServeHTTP(w, r)
		if reset {
			done <- struct{}{}
		}
	}))
	t.Cleanup(hs.Close)
	env["THINGSPACE_URL"], env["THINGSPACE_SOAP_URL"] = hs.URL, hs.URL+"/api/v2/SessionService.svc"
	return in, done
}

// serveFleet sets up department fleet with its credential through the
// command line and starts `uwsportal serve` on env.
func serveFleet(t *testing.T, env map[string]string) (*portal, *exec.Cmd, *testutil.Buffer) {
	t.Helper()
	p := &portal{URL: env["UWSPORTAL_BASE_URL"], Env: env}
	p.run(t, "", "migrate")
	p.run(t, "", "department", "create", "--slug", "fleet", "--name", "Fleet")
	p.run(t, uwsPass+"\n", "credential", "set", "--department", "fleet", "--username", uwsUser)
	cmd := exec.Command(buildPortal(t), "serve")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "PATH="+os.Getenv("PATH"))
	logs := &testutil.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Error(err)
		}
	})
	return p, cmd, logs
}
