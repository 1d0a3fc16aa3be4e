package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/uwsportal/uwsportal/internal/notify/channel"
	"github.com/uwsportal/uwsportal/internal/notify/channel/channeltest"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/testdb"
)

func TestNotifyCommands(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	allowLoopback(t, url)
	run, logs := newRunnerOn(t, url)
	hook := channeltest.NewReceiver(t, nil)
	out, err := run("notify", "add", "--kind", "webhook", "--target", hook.URL+"/in/t0ken", "--events", "rotated,break-glass", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var made channelJSON
	if err := json.Unmarshal([]byte(out), &made); err != nil || !strings.HasPrefix(made.SigningSecret, "whsec_") || made.ID == 0 {
		t.Fatalf("add: %q %v", out, err)
	}
	if _, err := run("notify", "add", "--kind", "webhook", "--target", "https://example.com/x", "--events", "nap"); ExitCode(err) != 1 || !strings.Contains(err.Error(), "unknown notification event") {
		t.Fatalf("an unknown event was accepted: %v", err)
	}
	if _, err := run("notify", "add", "--kind", "email", "--target", "ops@example.com"); err == nil || !strings.Contains(err.Error(), "SMTP") {
		t.Fatalf("email without a mail server: %v", err)
	}
	list, err := run("notify", "list")
	if err != nil || !strings.Contains(list, "rotated, break-glass") || strings.Contains(list, made.SigningSecret) || strings.Contains(list, "t0ken") {
		t.Fatalf("list: %q %v", list, err)
	}
	id := strconv.FormatInt(made.ID, 10)
	if out, err := run("notify", "test", "--id", id); err != nil || !strings.Contains(out, "accepted") {
		t.Fatalf("test: %q %v", out, err)
	}
	got := hook.Received()
	if len(got) != 1 || channel.Verify([]byte(made.SigningSecret), got[0].Header, got[0].Body, time.Now(), 0) != nil {
		t.Fatalf("the test message did not arrive signed with the printed secret: %d", len(got))
	}
	hook.FailNext(1)
	if _, err := run("notify", "test", "--id", id); err == nil || !strings.Contains(err.Error(), "500") || strings.Contains(err.Error(), "t0ken") {
		t.Fatalf("a failing channel's test: %v", err)
	}
	if _, err := run("notify", "remove", "--id", id); err != nil {
		t.Fatal(err)
	}
	if _, err := run("notify", "remove", "--id", id); err == nil {
		t.Fatal("a removed channel was removed again")
	}
	if _, err := run("notify", "test", "--id", "x"); ExitCode(err) != 2 {
		t.Fatalf("a bad id: %v", err)
	}
	if strings.Contains(logs.String(), made.SigningSecret) || strings.Contains(logs.String(), "t0ken") {
		t.Fatal("a secret reached the logs")
	}
}

// newRunner runs commands against a fresh database and key, as a shell
// would; logs collects what they wrote to stderr.
func newRunner(t *testing.T) (run func(args ...string) (string, error), logs *bytes.Buffer) {
	return newRunnerOn(t, testdb.URL(t))
}

func newRunnerOn(t *testing.T, url string) (run func(args ...string) (string, error), logs *bytes.Buffer) {
	env := map[string]string{"DATABASE_URL": url, "UWSPORTAL_MASTER_KEY": secret.GenerateKey()}
	logs = &bytes.Buffer{}
	return func(args ...string) (string, error) {
		var out bytes.Buffer
		err := Run(context.Background(), append([]string{"uwsportal"}, args...), func(k string) string { return env[k] },
			Stdio{In: strings.NewReader(""), Out: &out, Err: logs})
		return out.String(), err
	}, logs
}

// allowLoopback lets notification targets reach the test receivers on
// this machine, as an admin would allow a private network on the page.
func allowLoopback(t *testing.T, url string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `INSERT INTO outbound_networks (name, network, added_by, added_at)
	       VALUES ('test receivers', '127.0.0.0/8', 'test', now())`); err != nil {
		t.Fatal(err)
	}
}
