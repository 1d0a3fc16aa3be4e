package rules

import (
	"go/ast"
	"regexp"
)

// Harnesses with clocks of their own: simulators, test servers, the
// benchmark and its load generator.
var clockHarnesses = []string{"internal/clock", "internal/tsim", "cmd/tsim", "internal/devidp", "cmd/devidp",
	"internal/notify/channel/channeltest", "internal/bench", "internal/testdb", "internal/testutil", "internal/e2e", "cmd/demo"}

// clockRule: time.Now only in internal/clock.
func clockRule(f file, report func(ast.Node, string)) {
	if f.test || under(f.path, clockHarnesses...) {
		return
	}
	ast.Inspect(f.ast, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "Now" {
			return true
		}
		if o := object(f, sel); o != nil && o.Pkg() != nil && o.Pkg().Path() == "time" {
			report(sel, "time.Now outside internal/clock: take the injected clock (wall time) or a clock.Stopwatch (elapsed time)")
		}
		return true
	})
}

var clipName = regexp.MustCompile(`^([cC]lip|[tT]runcate)([A-Z]|$)`)

// noClipCopies: models.Clip is the one way to shorten text.
func noClipCopies(f file, report func(ast.Node, string)) {
	if f.test || under(f.path, "models") {
		return
	}
	ast.Inspect(f.ast, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.FuncDecl:
			if x.Recv == nil && clipName.MatchString(x.Name.Name) {
				report(x.Name, "function "+x.Name.Name+" looks like a copy of models.Clip")
			}
		case *ast.SelectorExpr:
			if o := object(f, x); o != nil && o.Pkg() != nil && o.Pkg().Path() == "unicode/utf8" && o.Name() == "RuneStart" {
				report(x, "a rune-boundary cut outside models: use models.Clip")
			}
		}
		return true
	})
}
