package rules

import (
	"go/ast"
	"strconv"
	"strings"
)

// Packages that may speak to the database directly besides the store:
// test harnesses and development tools, each for a reason.
var databaseHarnesses = []string{
	"internal/testdb",              // creates and seeds test databases
	"internal/devdb",               // finds or starts a development cluster
	"internal/bench",               // measures the floors: the same work through pgx
	"internal/faults",              // reads state behind a killed process's back
	"internal/e2e",                 // the same, behind the browser
	"cmd/demo",                     // creates the demo database
	"internal/cli/admin_test",      // reads what a command wrote
	"internal/cli/notify_test",     // allows a loopback receiver behind the page's back
	"internal/cli/migrate_test",    // reads the schema a command left
	"internal/app/release_test",    // replays an old release's writes
	"internal/requests/bench_test", // the floor: the same inserts through pgx
}

// arrows: dependencies point one way.
func arrows(f file, report func(ast.Node, string)) {
	for _, imp := range f.ast.Imports {
		path, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			continue
		}
		switch {
		case under(f.path, "web") && !f.test && path == module+"internal/store":
			report(imp, "web imports internal/store: talk to a use case instead")
		case under(f.path, "internal/upstream") && path == module+"internal/config":
			report(imp, "upstream imports internal/config: the composition root (internal/app) reads the configuration")
		case database(path) && !under(f.path, "internal/store") && !harness(f):
			report(imp, path+" imported outside internal/store")
		}
	}
}

func database(path string) bool {
	return strings.HasPrefix(path, "gorm.io/") || strings.HasPrefix(path, "github.com/jackc/pgx") || path == "database/sql"
}

func harness(f file) bool {
	name := strings.TrimSuffix(f.name, ".go")
	for _, h := range databaseHarnesses {
		if under(f.path, h) || strings.HasSuffix(name, h) {
			return true
		}
	}
	return false
}
