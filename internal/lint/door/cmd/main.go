// Command door fails when a package other than internal/upstream calls a
// ThingSpace backend's Login or ResetPassword (see package door).
//
//	go run ./internal/lint/door/cmd
package main

import (
	"fmt"
	"os"

	"github.com/uwsportal/uwsportal/internal/lint/door"
)

func main() {
	vs, err := door.Check(".", nil, "./...")
	if err != nil {
		fmt.Fprintln(os.Stderr, "door:", err)
		os.Exit(2)
	}
	for _, v := range vs {
		fmt.Fprintln(os.Stderr, v)
	}
	if len(vs) > 0 {
		os.Exit(1)
	}
}
