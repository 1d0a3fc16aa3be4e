// Package static holds the portal's stylesheet and small scripts, embedded in
// the binary so the portal works on an isolated network.
package static

import "embed"

// FS holds every static file.
//
//go:embed css js
var FS embed.FS
