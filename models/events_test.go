package models

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/audit-events.md from the catalogue")

// TestCatalogueDoc fails when docs/audit-events.md is out of step with the
// catalogue; -update rewrites it.
func TestCatalogueDoc(t *testing.T) {
	path := filepath.Join("..", "docs", "audit-events.md")
	want := CatalogueMarkdown()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: run go test ./models -run TestCatalogueDoc -update", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("docs/audit-events.md is out of step with models.Catalogue: run go test ./models -run TestCatalogueDoc -update")
	}
	for _, s := range Catalogue {
		if !bytes.Contains(got, []byte("`"+s.Code+"`")) {
			t.Errorf("%s is not documented", s.Code)
		}
	}
}

func TestCatalogueCodesAreUniqueAndDotted(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Catalogue {
		if seen[s.Code] || !strings.Contains(s.Code, ".") || s.Meaning == "" {
			t.Errorf("bad catalogue entry %+v", s)
		}
		seen[s.Code] = true
		if !KnownEvent(s.Code) || !KnownEventPrefix(s.Code[:strings.IndexByte(s.Code, '.')]) {
			t.Errorf("%s not known", s.Code)
		}
	}
}
