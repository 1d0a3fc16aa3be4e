package mutations

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every mutation's line is in today's code exactly once, so the mutation
// check tests what it says (and fails here first when code moves).
func TestEveryMutationApplies(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range All {
		if seen[m.Name] {
			t.Errorf("two mutations named %s", m.Name)
		}
		seen[m.Name] = true
		tmp := t.TempDir()
		src := filepath.Join(root, m.File)
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(tmp, m.File)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := Apply(tmp, m); err != nil {
			t.Errorf("%v", err)
			continue
		}
		got, err := os.ReadFile(dst)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) == string(b) || !strings.Contains(string(got), strings.TrimSpace(m.Replace)) {
			t.Errorf("mutation %s changed nothing", m.Name)
		}
	}
}

// A line that is not there fails loudly.
func TestApplyFailsWhenTheLineMoved(t *testing.T) {
	tmp := t.TempDir()
	if err := os.WriteFile(filepath.Join(tmp, "f.go"), []byte("package f\n\nvar x = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Apply(tmp, Mutation{Name: "gone", File: "f.go", Find: "var x = 2", Replace: "var x = 3"})
	if err == nil || !strings.Contains(err.Error(), "the code moved") {
		t.Fatalf("got %v, want a loud failure", err)
	}
}
