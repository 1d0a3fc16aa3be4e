// Package migrations holds the numbered SQL migrations, applied by goose.
package migrations

import (
	"embed"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// FS holds every migration file.
//
//go:embed *.sql
var FS embed.FS

// MaxSchema is the highest schema version a binary of this series runs
// against. Migrations are expand-only, so a binary keeps working while a
// newer release's migrations are applied under it (rolling upgrades);
// numbers above MaxSchema are reserved for a change that no binary of this
// series could read, and a binary refuses to start on such a schema. A
// contract migration inside the series raises schema_compat.min_binary
// instead (see 00040).
const MaxSchema = 999

// Latest is the version of the newest migration embedded: the schema this
// binary needs.
func Latest() int64 {
	var latest int64
	entries, err := fs.ReadDir(FS, ".")
	if err != nil {
		return 0 // an embedded directory always reads
	}
	for _, e := range entries {
		if v := Version(e.Name()); v > latest {
			latest = v
		}
	}
	return latest
}

// Version is the number a migration file's name starts with (0 if none).
func Version(name string) int64 {
	base := path.Base(name)
	num, _, ok := strings.Cut(base, "_")
	if !ok || !strings.HasSuffix(base, ".sql") {
		return 0
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0
	}
	return v
}
