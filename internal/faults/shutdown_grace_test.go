package faults

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/uwsportal/uwsportal/internal/tsim"
)

// Issue 21, path 5: SIGTERM while a "rotate now" from the page waits for a
// late answer, with a grace period shorter than that wait. Shutdown must
// not close the database under the rotation: it waits, up to the
// rotation's own deadline, for the new password to be stored and
// verified, then exits 0.
func TestSIGTERMWithAShortGraceKeepsAPageRotationsPassword(t *testing.T) {
	t.Parallel()
	onReset := make(chan struct{})
	var once sync.Once
	sim := tsim.New(tsim.Options{AppKey: "k", AppSecret: "s", Users: map[string]string{uwsUser: uwsPass}})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/password/actions/reset") {
			once.Do(func() { close(onReset) })
			time.Sleep(1500 * time.Millisecond) // the answer comes late, after the grace period
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	_, env := simEnv(t)
	env["THINGSPACE_URL"], env["THINGSPACE_SOAP_URL"] = hs.URL, hs.URL+"/api/v2/SessionService.svc"
	env["UWSPORTAL_SHUTDOWN_TIMEOUT"] = "300ms"
	p, cmd, logs := serveFleet(t, env)
	waitUp(t, p.URL, logs)
	c := browser()
	p.signInBreakGlass(t, c)

	go func() {
		// The page's answer may be cut by the shutdown; what matters is the credential.
		if _, _, err := fetch(c, http.MethodPost, p.URL+"/departments/fleet/rotate", url.Values{"csrf_token": {p.csrf(c)}}); err != nil {
			t.Log("rotate request:", err)
		}
	}()
	<-onReset
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		// The page's request outlived the grace period and was cut (exit
		// 1 says so); the rotation behind it must not have been.
		if err != nil && !strings.Contains(logs.String(), `"msg":"stopped"`) {
			t.Fatalf("exit: %v\n%s", err, logs.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("the process hangs after SIGTERM\n%s", logs.String())
	}
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
	up, _ := sim.User(uwsUser)
	if up.ResetsApplied != 1 || state != "idle" || version != 2 {
		t.Fatalf("after shutdown: state %s version %d, simulator %+v: the new password was lost\n%s", state, version, up, logs.String())
	}
	if stored := strings.TrimSpace(p.run(t, "", "credential", "list")); !strings.Contains(stored, "idle") {
		t.Fatalf("credential list: %s", stored)
	}
}
