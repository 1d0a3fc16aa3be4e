package config

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/secret"
)

// secretFile writes value to a private file and returns its path.
func secretFile(t *testing.T, value string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s")
	if err := os.WriteFile(path, []byte(value), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// Every secret-bearing variable takes _FILE, through one helper, with the
// same errors: both set, unreadable, group-readable, empty.
func TestEverySecretTakesAFile(t *testing.T) {
	values := map[string]string{
		"DATABASE_URL":            "postgres://u:Db-Secret-1@db.example.com/uwsportal",
		"OIDC_CLIENT_SECRET":      "Oidc-Secret-1",
		"THINGSPACE_APP_SECRET":   "Ts-Secret-1",
		"UWSPORTAL_SMTP_PASSWORD": "Smtp-Secret-1",
		"UWSPORTAL_MASTER_KEY":    secret.GenerateKey(),
	}
	if len(values) != len(SecretVariables) {
		t.Fatalf("SecretVariables lists %d variables, the test %d", len(SecretVariables), len(values))
	}
	full := func() map[string]string {
		return map[string]string{"OIDC_ISSUER": "https://idp.example.com", "OIDC_CLIENT_ID": "portal",
			"THINGSPACE_APP_KEY": "key", "UWSPORTAL_SMTP_ADDR": "smtp.example.com:587",
			"UWSPORTAL_SMTP_FROM": "p@example.com", "UWSPORTAL_SMTP_USERNAME": "portal"}
	}
	for _, name := range SecretVariables {
		t.Run(name, func(t *testing.T) {
			m := full()
			for k, v := range values {
				m[k] = v
			}
			delete(m, name)
			m[name+"_FILE"] = secretFile(t, values[name]+"\n", 0o600)
			c, err := Load(env(m))
			if err != nil {
				t.Fatalf("from a file: %v", err)
			}
			got := map[string]string{"DATABASE_URL": c.DatabaseURL, "OIDC_CLIENT_SECRET": c.OIDCClientSecret,
				"THINGSPACE_APP_SECRET": c.ThingSpaceAppSecret, "UWSPORTAL_SMTP_PASSWORD": c.SMTP.Password}
			if g, ok := got[name]; ok && g != values[name] {
				t.Fatalf("read %q, want the file's value", g)
			}
			if name == secret.EnvMasterKey {
				k, err := MasterKeys(env(m), nil)
				raw, derr := base64.StdEncoding.DecodeString(values[name])
				if err != nil || derr != nil || k.CurrentID() != secret.KeyID(raw) {
					t.Fatalf("master key from a file: %v", err)
				}
			}
			for _, bad := range []struct {
				edit func(map[string]string)
				want string
			}{
				{func(m map[string]string) { m[name] = values[name] }, name + " and " + name + "_FILE are both set: set only one"},
				{func(m map[string]string) { m[name+"_FILE"] = "/nonexistent/secret" }, name + "_FILE cannot be read"},
				{func(m map[string]string) { m[name+"_FILE"] = secretFile(t, values[name], 0o640) }, "chmod 600"},
				{func(m map[string]string) { m[name+"_FILE"] = secretFile(t, "\n", 0o600) }, name + "_FILE"},
			} {
				mm := map[string]string{}
				for k, v := range m {
					mm[k] = v
				}
				bad.edit(mm)
				_, err := Load(env(mm))
				if err == nil || !strings.Contains(err.Error(), bad.want) {
					t.Errorf("want %q, got %v", bad.want, err)
				}
				if err != nil && strings.Contains(err.Error(), values[name]) {
					t.Errorf("the error shows the secret: %v", err)
				}
			}
		})
	}
}

func TestMasterKeyErrors(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "UWSPORTAL_MASTER_KEY is required (or UWSPORTAL_MASTER_KEY_FILE)"},
		{map[string]string{"UWSPORTAL_MASTER_KEY": "c2hvcnQ"}, "UWSPORTAL_MASTER_KEY: secret: key 1 of 1: decodes to 5 bytes"},
		{map[string]string{"UWSPORTAL_MASTER_KEY_FILE": secretFile(t, "c2hvcnQ=\n", 0o600)}, "UWSPORTAL_MASTER_KEY_FILE: secret: key 1 of 1"},
	} {
		_, err := MasterKeys(env(tc.env), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "c2hvcnQ") {
			t.Errorf("%v: got %v, want %q", tc.env, err, tc.want)
		}
	}
	dir := t.TempDir()
	if _, err := MasterKeys(env(map[string]string{"UWSPORTAL_MASTER_KEY_FILE": dir}), nil); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a directory as the key file: %v", err)
	}
}

// With a KMS the master key variables hold wrapped keys (or nothing: the
// database holds them), so only the KMS URL is checked here.
func TestMasterKeyKMS(t *testing.T) {
	c, err := Load(env(map[string]string{"UWSPORTAL_MASTER_KEY_KMS": "awskms://alias/uwsportal?region=eu-west-1"}))
	if err != nil || c.MasterKeyKMS != "awskms://alias/uwsportal?region=eu-west-1" {
		t.Fatalf("a KMS and wrapped keys in the database: %v", err)
	}
	_, err = Load(env(map[string]string{"UWSPORTAL_MASTER_KEY_KMS": "base64key://c2VjcmV0LWtleQ=="}))
	if err == nil || !strings.Contains(err.Error(), "UWSPORTAL_MASTER_KEY_KMS has scheme \"base64key\"") || strings.Contains(err.Error(), "c2VjcmV0") {
		t.Fatalf("a local key as a KMS: %v", err)
	}
	_, err = Load(env(map[string]string{"UWSPORTAL_MASTER_KEY_KMS": "hashivault://uwsportal", "UWSPORTAL_MASTER_KEY": "w", "UWSPORTAL_MASTER_KEY_FILE": "/k"}))
	if err == nil || !strings.Contains(err.Error(), "both set") {
		t.Fatalf("wrapped keys from two places: %v", err)
	}
}
