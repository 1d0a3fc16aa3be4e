package rules

import (
	"go/ast"
	"go/types"
	"slices"
)

// Harnesses that measure the bare backend, as a benchmark's floor.
var doorHarnesses = []string{"web/devices_bench_test.go", "internal/rotation/bench_test.go"}

// door: only internal/upstream logs in or resets.
func door(f file, report func(ast.Node, string)) {
	if under(f.path, "internal/upstream", "internal/thingspace") || endsWith(f.name, doorHarnesses...) {
		return
	}
	ast.Inspect(f.ast, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok || (sel.Sel.Name != "Login" && sel.Sel.Name != "ResetPassword") {
			return true
		}
		if s, ok := f.pkg.TypesInfo.Selections[sel]; ok && isBackend(s.Recv()) {
			report(sel, types.TypeString(s.Recv(), byName)+"."+sel.Sel.Name+" outside the door (internal/upstream)")
		}
		return true
	})
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
	return n.Obj().Pkg().Path() == module+"internal/thingspace" && slices.Contains([]string{"Backend", "REST", "SOAP"}, n.Obj().Name())
}
