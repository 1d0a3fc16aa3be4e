package rules_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/lint/rules"
)

// planted are violations, one or more per rule, given to the loader as
// overlays (nothing is written to the tree).
var planted = map[string]string{
	"internal/devices/zz_planted.go": `package devices

import (
	"context"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/uwsportal/uwsportal/internal/thingspace"
)

var _ *gorm.DB

func planted(ctx context.Context, b thingspace.Backend, r *thingspace.REST) time.Time {
	tok, _ := b.Login(ctx, "u", "p")
	_ = r.ResetPassword(ctx, tok, "p")
	return time.Now()
}

func clipLabel(s string) string {
	n := 3
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
`,
	"internal/upstream/zz_planted.go": `package upstream

import "github.com/uwsportal/uwsportal/internal/config"

var _ config.Config
`,
	"internal/devices/zz_planted_test.go": `package devices

import (
	"errors"
	"testing"
)

func fails() error { return errors.New("x") }

func TestPlanted(t *testing.T) {
	_ = fails()
	fails()
}
`,
}

func TestEachRuleFailsOnAPlantedViolation(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	overlay := map[string][]byte{}
	for name, src := range planted {
		path := filepath.Join(root, name)
		if _, err := os.Stat(path); err == nil {
			t.Fatalf("%s exists on disk", path)
		}
		overlay[path] = []byte(src)
	}
	vs, err := rules.Check(root, overlay, "./internal/devices", "./internal/upstream")
	if err != nil {
		t.Fatal(err)
	}
	found := map[string][]string{}
	for _, v := range vs {
		if strings.Contains(v.Pos, "zz_planted") {
			found[v.Rule] = append(found[v.Rule], v.What)
		}
	}
	want := map[string]int{"door": 2, "arrows": 2, "clock": 1, "clip": 2, "errors": 2}
	for rule, n := range want {
		if len(found[rule]) != n {
			t.Errorf("rule %s: %d violations found in the planted files, want %d: %q", rule, len(found[rule]), n, found[rule])
		}
	}
}
