// Package door checks the one-door rule: outside internal/upstream (the
// door) and internal/thingspace (the backends themselves), nothing calls a
// ThingSpace backend's Login or ResetPassword, so every login and reset
// goes through the lockout guard, under the account lock, with the
// credential's current password. Harnesses that measure the bare backend
// are named here, one by one.
package door

import (
	"fmt"
	"go/ast"
	"go/types"
	"slices"
	"strings"

	"golang.org/x/tools/go/packages"
)

const module = "github.com/uwsportal/uwsportal/"

// Allowed packages (by import path) and harness files (by path suffix).
var (
	doorPackages = []string{module + "internal/upstream", module + "internal/thingspace"}
	harnesses    = []string{
		"web/devices_bench_test.go",       // the devices page benchmark's floor: a bare session
		"internal/rotation/bench_test.go", // the rotation benchmark's floor: bare round trips
	}
	backends  = []string{"Backend", "REST", "SOAP"}
	forbidden = []string{"Login", "ResetPassword"}
)

// Violation is one call past the door.
type Violation struct {
	Pos  string
	Call string
}

func (v Violation) String() string {
	return v.Pos + ": " + v.Call + " outside the door (internal/upstream)"
}

// Check loads patterns (with their tests) from dir, with overlay (nil:
// none), and returns every call of a backend's Login or ResetPassword
// outside the door.
func Check(dir string, overlay map[string][]byte, patterns ...string) ([]Violation, error) {
	cfg := &packages.Config{Dir: dir, Tests: true, Overlay: overlay,
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		return nil, err
	}
	var out []Violation
	seen := map[string]bool{}
	for _, p := range pkgs {
		if len(p.Errors) > 0 {
			return nil, fmt.Errorf("load %s: %v", p.PkgPath, p.Errors[0])
		}
		path := strings.TrimSuffix(strings.TrimSuffix(p.PkgPath, "_test"), ".test")
		if slices.Contains(doorPackages, path) {
			continue
		}
		for _, v := range check(p) {
			if !seen[v.Pos] {
				seen[v.Pos] = true
				out = append(out, v)
			}
		}
	}
	return out, nil
}

func check(p *packages.Package) []Violation {
	var out []Violation
	for _, f := range p.Syntax {
		file := p.Fset.Position(f.Pos()).Filename
		if slices.ContainsFunc(harnesses, func(h string) bool { return strings.HasSuffix(file, h) }) {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok || !slices.Contains(forbidden, sel.Sel.Name) {
				return true
			}
			if s, ok := p.TypesInfo.Selections[sel]; ok && isBackend(s.Recv()) {
				out = append(out, Violation{Pos: p.Fset.Position(sel.Pos()).String(), Call: types.TypeString(s.Recv(), byName) + "." + sel.Sel.Name})
			}
			return true
		})
	}
	return out
}

// isBackend reports whether t is thingspace.Backend, *thingspace.REST or
// *thingspace.SOAP.
func isBackend(t types.Type) bool {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := t.(*types.Named)
	if !ok || n.Obj().Pkg() == nil {
		return false
	}
	return n.Obj().Pkg().Path() == module+"internal/thingspace" && slices.Contains(backends, n.Obj().Name())
}

func byName(p *types.Package) string { return p.Name() }
