package secret

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeyFileMustBePrivate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "master.key")
	if err := os.WriteFile(path, []byte(GenerateKey()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string {
		if k == EnvMasterKeyFile {
			return path
		}
		return ""
	}
	if _, err := LoadKeyring(getenv, ReadKeyFile); err != nil {
		t.Fatalf("a 0600 key file: %v", err)
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o660} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := LoadKeyring(getenv, ReadKeyFile)
		if err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("a key file with mode %04o: %v", mode, err)
		}
	}
	if _, err := ReadKeyFile(dir); err == nil {
		t.Error("a directory was read as a key file")
	}
}
