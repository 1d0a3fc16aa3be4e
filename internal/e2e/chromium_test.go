package e2e

import (
	"os"
	"sync"
	"testing"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

var (
	chromiumMu  sync.Mutex
	chromiumErr error
	chromiumTry bool
)

// ensureChromium returns the browser to launch. When it is missing it
// installs Debian's chromium package if the test runs as root (once per
// machine at a time: parallel test binaries share a file lock), and skips
// the test otherwise.
func ensureChromium(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err == nil {
		return chromiumPath
	}
	if os.Geteuid() != 0 {
		t.Skipf("browser tests need Chromium at %s: install Debian's chromium package (apt-get install chromium) or run the tests as root to have them install it", chromiumPath)
	}
	chromiumMu.Lock()
	defer chromiumMu.Unlock()
	if !chromiumTry {
		chromiumTry = true
		chromiumErr = installChromium(t)
	}
	if chromiumErr != nil {
		t.Fatalf("install Debian's chromium package: %v", chromiumErr)
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("chromium was installed but %s is still missing: %v", chromiumPath, err)
	}
	return chromiumPath
}
