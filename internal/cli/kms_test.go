package cli

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/testdb"

	_ "gocloud.dev/secrets/localsecrets" // base64key://, the library's local driver
)

// The local driver stands in for a cloud KMS in tests only: configuration
// refuses it otherwise, since its URL holds the key.
func init() { secret.KMSSchemes = append(secret.KMSSchemes, "base64key") }

func localKMS() string {
	return "base64key://" + base64.URLEncoding.EncodeToString([]byte("uwsportal-test-kms-key-32-bytes!"))
}

// rekey moves the master keys from plain to KMS-wrapped in the database
// and back; the portal opens its data either way, and a wrong KMS key is
// refused at start.
func TestRekeyBetweenPlainAndKMS(t *testing.T) {
	t.Parallel()
	key := secret.GenerateKey()
	kr, err := secret.ParseKeys(key)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DATABASE_URL": testdb.URL(t), "UWSPORTAL_MASTER_KEY": key}
	run := cliRunner(t, env)
	if _, err := run("", "department", "create", "--slug", "fleet", "--name", "Fleet"); err != nil {
		t.Fatal(err)
	}
	if _, err := run("Corr3ct-Horse!Battery\n", "credential", "set", "--department", "fleet", "--username", "fleet-uws"); err != nil {
		t.Fatal(err)
	}
	kms := localKMS()
	out, err := run("", "rekey", "--to-kms", kms)
	if err != nil || !strings.Contains(out, kr.CurrentID()) || strings.Contains(out, key) {
		t.Fatalf("--to-kms: %v %s", err, out)
	}
	delete(env, "UWSPORTAL_MASTER_KEY")
	env["UWSPORTAL_MASTER_KEY_KMS"] = kms
	if out, err := run("", "rekey"); err != nil || !strings.Contains(out, "under key "+kr.CurrentID()) {
		t.Fatalf("rekey with the wrapped keys: %v %s", err, out)
	}
	env["UWSPORTAL_MASTER_KEY_KMS"] = "base64key://" + base64.URLEncoding.EncodeToString([]byte(strings.Repeat("x", 32)))
	if _, err := run("", "rekey"); err == nil || !strings.Contains(err.Error(), "unwrap key 1 of 1") {
		t.Fatalf("another KMS key: %v", err)
	}
	env["UWSPORTAL_MASTER_KEY_KMS"] = kms
	file := filepath.Join(t.TempDir(), "master.key")
	if out, err := run("", "rekey", "--to-plain", "--out", file); err != nil || strings.Contains(out, key) {
		t.Fatalf("--to-plain: %v %s", err, out)
	}
	st, err := os.Stat(file)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the key file: %v %v", st, err)
	}
	delete(env, "UWSPORTAL_MASTER_KEY_KMS")
	env["UWSPORTAL_MASTER_KEY_FILE"] = file
	if out, err := run("", "rekey"); err != nil || !strings.Contains(out, "under key "+kr.CurrentID()) {
		t.Fatalf("rekey with the plain key file: %v %s", err, out)
	}
	if _, err := run("", "rekey", "--to-plain", "--out", filepath.Join(t.TempDir(), "k")); ExitCode(err) != 2 {
		t.Fatalf("--to-plain with plain keys: %v", err)
	}
}
