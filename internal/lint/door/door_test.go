package door_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/lint/door"
)

func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// The check fails on a planted violation: a file added (as an overlay) to
// the devices package that logs in and resets with a backend directly.
func TestPlantedViolationsAreFound(t *testing.T) {
	dir := root(t)
	planted := filepath.Join(dir, "internal", "devices", "zz_planted.go")
	src := `package devices

import (
	"context"

	"github.com/uwsportal/uwsportal/internal/thingspace"
)

func planted(ctx context.Context, b thingspace.Backend, r *thingspace.REST) {
	tok, _ := b.Login(ctx, "u", "p")
	_ = r.ResetPassword(ctx, tok, "p")
}
`
	if _, err := os.Stat(planted); err == nil {
		t.Fatalf("%s exists on disk", planted)
	}
	vs, err := door.Check(dir, map[string][]byte{planted: []byte(src)}, "./internal/devices")
	if err != nil {
		t.Fatal(err)
	}
	var calls []string
	for _, v := range vs {
		calls = append(calls, v.Call)
	}
	got := strings.Join(calls, ",")
	if !strings.Contains(got, "thingspace.Backend.Login") || !strings.Contains(got, "*thingspace.REST.ResetPassword") {
		t.Fatalf("planted calls not found: %v", vs)
	}
}
