//go:build !linux

package e2e

import (
	"errors"
	"testing"
)

func installChromium(t testing.TB) error {
	t.Skipf("browser tests need Chromium at %s; installing it is only automated on Debian", chromiumPath)
	return errors.New("unreachable")
}
