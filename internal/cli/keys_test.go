package cli

import (
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/testdb"
)

// serve with a key that did not seal the data refuses to start and names
// the key ID it lacks.
func TestServeRefusesAKeyThatDidNotSealTheData(t *testing.T) {
	t.Parallel()
	dsn := testdb.URL(t)
	good := secret.GenerateKey()
	env := map[string]string{"DATABASE_URL": dsn, "UWSPORTAL_MASTER_KEY": good, "UWSPORTAL_ADDR": "127.0.0.1:0"}
	run := cliRunner(t, env)
	if _, err := run("", "department", "create", "--slug", "fleet", "--name", "Fleet"); err != nil {
		t.Fatal(err)
	}
	if _, err := run("Corr3ct-Horse!Battery\n", "credential", "set", "--department", "fleet", "--username", "fleet-uws"); err != nil {
		t.Fatal(err)
	}
	kr, err := secret.ParseKeys(good)
	if err != nil {
		t.Fatal(err)
	}
	env["UWSPORTAL_MASTER_KEY"] = secret.GenerateKey()
	_, err = run("", "serve")
	if err == nil || !strings.Contains(err.Error(), "sealed with master key ID "+kr.CurrentID()) {
		t.Fatalf("serve with another key: %v", err)
	}
}
