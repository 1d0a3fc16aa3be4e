package models

import (
	"bytes"
	"fmt"
	"strings"
)

// CatalogueMarkdown renders the event catalogue as docs/audit-events.md, the
// page users read; a test keeps the committed file equal to it.
func CatalogueMarkdown() []byte {
	var b bytes.Buffer
	b.WriteString(`# Audit events

<!-- Generated from models.Catalogue by ` + "`go test ./models -run TestCatalogueDoc -update`" + `; do not edit by hand. -->

Every line of the audit trail carries a stable event code, the actor (a user
id, ` + "`system`" + ` or ` + "`cli:<os user>`" + `), the actor's name and roles, the
department, the target, the outcome (` + "`success`, `failure` or `denied`" + `), the
source IP, user agent and request ID, and a JSON detail whose keys are listed
below. A detail never contains a secret. Codes are never renamed once
released; filter on a prefix (such as ` + "`credential.rotate`" + `) to see a family.

| code | meaning | detail keys |
|---|---|---|
`)
	for _, s := range Catalogue {
		keys := make([]string, len(s.DetailKeys))
		for i, k := range s.DetailKeys {
			keys[i] = "`" + k + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", s.Code, strings.ReplaceAll(s.Meaning, "|", `\|`), strings.Join(keys, ", "))
	}
	return b.Bytes()
}
