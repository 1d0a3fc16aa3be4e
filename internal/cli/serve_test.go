package cli

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/internal/testutil"
)

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func status(url string) int {
	res, err := http.Get(url)
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	return res.StatusCode
}

// A new instance started before the migration job ran (auto-migrate off)
// is live but not ready, and starts its background work only once the
// schema is migrated under it.
func TestServeWaitsForTheMigrationJob(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	env := map[string]string{"DATABASE_URL": testdb.EmptyURL(t), "UWSPORTAL_MASTER_KEY": secret.GenerateKey(),
		"UWSPORTAL_ADDR": addr, "UWSPORTAL_AUTO_MIGRATE": "false"}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &testutil.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"uwsportal", "serve"}, func(k string) string { return env[k] }, Stdio{In: strings.NewReader(""), Out: logs, Err: logs})
	}()
	base := "http://" + addr
	waitFor(t, func() bool { return status(base+"/healthz") == 200 })
	if s := status(base + "/readyz"); s != 503 || !strings.Contains(logs.String(), "background work waits for the schema") {
		t.Fatalf("before the migration: readyz %d\n%s", s, logs.String())
	}
	var out bytes.Buffer
	if err := Run(context.Background(), []string{"uwsportal", "migrate"}, func(k string) string { return env[k] },
		Stdio{In: strings.NewReader(""), Out: &out, Err: &out}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return status(base+"/readyz") == 200 })
	time.Sleep(2500 * time.Millisecond) // one more look at the schema, then the background work
	for _, bad := range []string{"stopped\"", "resolve stuck rotations"} {
		if strings.Contains(logs.String(), bad) {
			t.Fatalf("background work ran on the unmigrated schema:\n%s", logs.String())
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v\n%s", err, logs.String())
	}
}

func waitFor(t *testing.T, ok func() bool) {
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// serve says at start when autovacuum does not look after the audit
// trail (here turned off for audit_events alone).
func TestServeWarnsWhenTheTrailIsNotVacuumed(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	db, err := store.Open(context.Background(), url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Pool.Exec(context.Background(), `ALTER TABLE audit_events SET (autovacuum_enabled = false)`)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	env := map[string]string{"DATABASE_URL": url, "UWSPORTAL_MASTER_KEY": secret.GenerateKey(), "UWSPORTAL_ADDR": addr}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &testutil.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"uwsportal", "serve"}, func(k string) string { return env[k] }, Stdio{In: strings.NewReader(""), Out: logs, Err: logs})
	}()
	waitFor(t, func() bool { return status("http://"+addr+"/healthz") == 200 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v\n%s", err, logs.String())
	}
	if !strings.Contains(logs.String(), "autovacuum is off for the audit trail") {
		t.Fatalf("serve did not warn that autovacuum is off:\n%s", logs.String())
	}
}
