// Package rules checks the design's rules that the compiler does not
// (docs/design.md, "Rules and where they are kept"), over one load of the
// whole module with its tests:
//
//   - door: outside internal/upstream (the door) and internal/thingspace
//     (the backends), nothing calls a backend's Login or ResetPassword;
//   - arrows: web does not import internal/store, upstream does not import
//     internal/config, and only internal/store imports GORM, pgx or
//     database/sql (harnesses named below);
//   - clock: time.Now appears only in internal/clock (tests and harnesses
//     aside);
//   - clip: no copy of models.Clip (a function named clip… or truncate…,
//     or a rune-boundary cut with utf8.RuneStart, outside models);
//   - errors: no error discarded in a test (assigned to _ or dropped).
//
// Each rule is shown to fail on a planted violation (rules_test.go).
package rules

import (
	"fmt"
	"go/ast"
	"go/types"
	"slices"
	"strings"

	"golang.org/x/tools/go/packages"
)

const module = "github.com/uwsportal/uwsportal/"

// Violation is one place that breaks a rule.
type Violation struct {
	Rule string
	Pos  string
	What string
}

func (v Violation) String() string { return fmt.Sprintf("%s: [%s] %s", v.Pos, v.Rule, v.What) }

// file is one syntax tree with what the rules need to judge it.
type file struct {
	pkg  *packages.Package
	path string // the package's import path, without a test suffix
	name string // the file's path
	ast  *ast.File
	test bool
}

type rule func(f file, report func(pos ast.Node, what string))

var all = map[string]rule{"door": door, "arrows": arrows, "clock": clockRule, "clip": noClipCopies, "errors": discarded}

// Check loads patterns (with their tests) from dir, with overlay (nil:
// none), and returns every violation of every rule.
func Check(dir string, overlay map[string][]byte, patterns ...string) ([]Violation, error) {
	cfg := &packages.Config{Dir: dir, Tests: true, Overlay: overlay,
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo | packages.NeedImports}
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
		path := strings.TrimSuffix(strings.TrimSuffix(p.PkgPath, ".test"), "_test")
		for _, f := range p.Syntax {
			name := p.Fset.Position(f.Pos()).Filename
			fl := file{pkg: p, path: strings.TrimPrefix(path, module), name: name, ast: f, test: strings.HasSuffix(name, "_test.go")}
			for rname, r := range all {
				r(fl, func(n ast.Node, what string) {
					v := Violation{Rule: rname, Pos: p.Fset.Position(n.Pos()).String(), What: what}
					if !seen[v.String()] {
						seen[v.String()] = true
						out = append(out, v)
					}
				})
			}
		}
	}
	slices.SortFunc(out, func(a, b Violation) int { return strings.Compare(a.Pos, b.Pos) })
	return out, nil
}

// under reports whether the package path is one of dirs or below one.
func under(path string, dirs ...string) bool {
	return slices.ContainsFunc(dirs, func(d string) bool { return path == d || strings.HasPrefix(path, d+"/") })
}

// endsWith reports whether name ends with one of suffixes.
func endsWith(name string, suffixes ...string) bool {
	return slices.ContainsFunc(suffixes, func(s string) bool { return strings.HasSuffix(name, s) })
}

// object is the package-level object a selector or identifier names.
func object(f file, e ast.Expr) types.Object {
	switch x := e.(type) {
	case *ast.SelectorExpr:
		return f.pkg.TypesInfo.Uses[x.Sel]
	case *ast.Ident:
		return f.pkg.TypesInfo.Uses[x]
	}
	return nil
}

func byName(p *types.Package) string { return p.Name() }
