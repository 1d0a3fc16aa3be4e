package mutations

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Apply applies m to the tree at root. It fails unless exactly one line
// of the file is m.Find: the code moved, and the list must be updated.
func Apply(root string, m Mutation) error {
	path := filepath.Join(root, m.File)
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("mutation %s: %w", m.Name, err)
	}
	lines := strings.Split(string(b), "\n")
	at := -1
	for i, l := range lines {
		if strings.TrimSpace(l) != strings.TrimSpace(m.Find) {
			continue
		}
		if at >= 0 {
			return fmt.Errorf("mutation %s: %q is on lines %d and %d of %s: make Find unique", m.Name, m.Find, at+1, i+1, m.File)
		}
		at = i
	}
	if at < 0 {
		return fmt.Errorf("mutation %s: no line %q in %s: the code moved; update internal/faults/mutations", m.Name, m.Find, m.File)
	}
	indent := lines[at][:len(lines[at])-len(strings.TrimLeft(lines[at], " \t"))]
	lines[at] = indent + strings.TrimSpace(m.Replace)
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644)
}
