// Command rules fails when the module breaks one of the design's rules
// that the compiler does not check (see package rules).
//
//	go run ./internal/lint/rules/cmd
package main

import (
	"fmt"
	"os"

	"github.com/uwsportal/uwsportal/internal/lint/rules"
)

func main() {
	vs, err := rules.Check(".", nil, "./...")
	if err != nil {
		fmt.Fprintln(os.Stderr, "rules:", err)
		os.Exit(2)
	}
	for _, v := range vs {
		fmt.Fprintln(os.Stderr, v)
	}
	if len(vs) > 0 {
		fmt.Fprintf(os.Stderr, "%d violations of the design's rules (docs/design.md, \"Rules and where they are kept\")\n", len(vs))
		os.Exit(1)
	}
}
