package rules

import (
	"go/ast"
	"go/types"
	"slices"
)

// Calls whose error is documented never to happen (fmt to memory, hashes,
// builders): dropping it hides nothing.
var neverFail = []string{"fmt.Print", "fmt.Printf", "fmt.Println", "fmt.Fprint", "fmt.Fprintf", "fmt.Fprintln",
	"(*bytes.Buffer).Write", "(*bytes.Buffer).WriteString", "(*bytes.Buffer).WriteByte", "(*bytes.Buffer).WriteRune",
	"(*strings.Builder).Write", "(*strings.Builder).WriteString", "(*strings.Builder).WriteByte", "(*strings.Builder).WriteRune",
	"(hash.Hash).Write", "(io.Writer).Write"}

var errorType = types.Universe.Lookup("error").Type()

// discarded: a test checks every error it is given (assert it, or report
// it from t.Cleanup); one assigned to _ or dropped could hide a broken step.
func discarded(f file, report func(ast.Node, string)) {
	if !f.test {
		return
	}
	ast.Inspect(f.ast, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.ExprStmt:
			if call, ok := x.X.(*ast.CallExpr); ok && returnsError(f, call) && !exempt(f, call) {
				report(call, "an error result is dropped")
			}
		case *ast.AssignStmt:
			for _, i := range blankErrors(f, x) {
				report(x.Lhs[i], "an error is assigned to _")
			}
		}
		return true
	})
}

// results are the types an expression list yields, in order.
func results(f file, rhs []ast.Expr) []types.Type {
	if len(rhs) == 1 {
		if t, ok := f.pkg.TypesInfo.Types[rhs[0]].Type.(*types.Tuple); ok {
			out := make([]types.Type, t.Len())
			for i := range out {
				out[i] = t.At(i).Type()
			}
			return out
		}
	}
	out := make([]types.Type, len(rhs))
	for i, e := range rhs {
		out[i] = f.pkg.TypesInfo.Types[e].Type
	}
	return out
}

func blankErrors(f file, x *ast.AssignStmt) []int {
	ts := results(f, x.Rhs)
	if len(ts) != len(x.Lhs) {
		return nil
	}
	var out []int
	for i, l := range x.Lhs {
		if id, ok := l.(*ast.Ident); ok && id.Name == "_" && ts[i] != nil && types.Identical(ts[i], errorType) {
			if len(x.Rhs) == 1 {
				if call, ok := x.Rhs[0].(*ast.CallExpr); ok && exempt(f, call) {
					continue
				}
			}
			out = append(out, i)
		}
	}
	return out
}

func returnsError(f file, call *ast.CallExpr) bool {
	return slices.ContainsFunc(results(f, []ast.Expr{call}), func(t types.Type) bool { return t != nil && types.Identical(t, errorType) })
}

func exempt(f file, call *ast.CallExpr) bool {
	var fn *types.Func
	switch x := call.Fun.(type) {
	case *ast.SelectorExpr:
		if s, ok := f.pkg.TypesInfo.Selections[x]; ok {
			fn, _ = s.Obj().(*types.Func)
		} else {
			fn, _ = object(f, x).(*types.Func)
		}
	case *ast.Ident:
		fn, _ = object(f, x).(*types.Func)
	}
	return fn != nil && slices.Contains(neverFail, fn.FullName())
}
