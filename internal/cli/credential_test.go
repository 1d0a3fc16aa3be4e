package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/internal/tsim"
	"github.com/uwsportal/uwsportal/models"
)

func TestCredentialCommands(t *testing.T) {
	t.Parallel()
	sim := tsim.New(tsim.Options{AppKey: "k", AppSecret: "s"})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	const pw = "Corr3ct-Horse!Battery"
	sim.SetUser("fleet_uws", pw)
	k1 := secret.GenerateKey()
	env := map[string]string{
		"DATABASE_URL":          testdb.URL(t),
		"UWSPORTAL_MASTER_KEY":  k1,
		"THINGSPACE_URL":        srv.URL,
		"THINGSPACE_SOAP_URL":   srv.URL + "/api/v2/SessionService.svc",
		"THINGSPACE_APP_KEY":    "k",
		"THINGSPACE_APP_SECRET": "s",
	}
	run := func(stdin string, args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := Run(context.Background(), append([]string{"uwsportal"}, args...), func(k string) string { return env[k] },
			Stdio{In: strings.NewReader(stdin), Out: &out, Err: &errOut})
		if strings.Contains(out.String()+errOut.String(), pw) {
			t.Fatalf("%v: the password was printed", args)
		}
		return out.String(), err
	}
	if _, err := run("", "department", "create", "--slug", "fleet", "--name", "Fleet", "--max-age", "30d"); err != nil {
		t.Fatal(err)
	}
	if _, err := run("", "credential", "set", "--department", "fleet", "--username", "fleet_uws", pw); ExitCode(err) != 2 {
		t.Fatalf("a password on the command line was accepted: %v", err)
	}
	if _, err := run("", "credential", "set", "--department", "fleet", "--username", "fleet_uws"); err == nil {
		t.Fatal("an empty stdin was accepted")
	}
	if _, err := run("weak\n", "credential", "set", "--department", "fleet", "--username", "fleet_uws"); err == nil {
		t.Fatal("a weak password was accepted")
	}
	if _, err := run(pw+"\n", "credential", "set", "--department", "fleet", "--username", "fleet_uws", "--verify"); err != nil {
		t.Fatal(err)
	}
	if out, err := run("", "credential", "test", "--department", "fleet"); err != nil || !strings.Contains(out, "worked") {
		t.Fatalf("test: %q %v", out, err)
	}
	if out, err := run("", "credential", "rotate", "--department", "fleet"); err != nil || !strings.Contains(out, "rotated") {
		t.Fatalf("rotate: %q %v", out, err)
	}
	out, err := run("", "credential", "list", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var list []models.CredentialStatus
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 || list[0].Version != 2 || list[0].MaxAgeDays != 30 {
		t.Fatalf("list: %s %v", out, err)
	}
	if c, _ := sim.User("fleet_uws"); strings.Contains(out, c.Password) {
		t.Fatal("list shows the password")
	}
	if out, err := run("", "credential", "list"); err != nil || !strings.Contains(out, "fleet_uws") {
		t.Fatalf("list: %q %v", out, err)
	}
	env["UWSPORTAL_MASTER_KEY"] = secret.GenerateKey() + "," + k1
	if out, err := run("", "rekey"); err != nil || !strings.HasPrefix(out, "re-encrypted 2 ") {
		t.Fatalf("rekey: %q %v", out, err)
	}
	if _, err := run("", "credential", "rotate", "--department", "nope"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("unknown department: %v", err)
	}
	db, err := store.Open(context.Background(), env["DATABASE_URL"], store.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var bad int
	if err := db.Pool.QueryRow(context.Background(),
		"SELECT count(*) FROM audit_events WHERE code LIKE 'credential.%' AND actor NOT LIKE 'cli:%'").Scan(&bad); err != nil || bad != 0 {
		t.Fatalf("%d credential events not by cli:<user> (%v)", bad, err)
	}
}
