package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// installChromium runs apt-get under an exclusive file lock, so that test
// binaries started in parallel by go test install the package once.
func installChromium(t testing.TB) error {
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "uwsportal-e2e-chromium.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing the file releases it too
	if _, err := os.Stat(chromiumPath); err == nil {
		return nil // another test binary installed it while we waited
	}
	t.Logf("%s is missing: installing Debian's chromium package", chromiumPath)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	apt := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("apt-get %s: %w\n%s", strings.Join(args, " "), err, tail(string(out), 2000))
		}
		return nil
	}
	install := []string{"install", "-y", "--no-install-recommends", "chromium"}
	if err := apt(install...); err != nil {
		// A fresh machine has no package lists yet.
		if err := apt("update"); err != nil {
			return err
		}
		return apt(install...)
	}
	return nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
