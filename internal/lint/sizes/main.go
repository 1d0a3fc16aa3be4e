// Command sizes fails when a hand-written Go file passes 400 lines or a
// function 80 lines: a file that big holds more than one job, a function
// that long more than one idea. Generated files (templ's, or any with the
// standard "Code generated … DO NOT EDIT." line) are skipped.
//
//	go run ./internal/lint/sizes [dir]
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

const (
	maxFileLines = 400
	maxFuncLines = 80
)

var generated = regexp.MustCompile(`^// Code generated .* DO NOT EDIT\.$`)

func main() {
	root := "."
	if len(os.Args) > 1 {
		root = os.Args[1]
	}
	problems, err := check(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sizes:", err)
		os.Exit(2)
	}
	for _, p := range problems {
		fmt.Println(p)
	}
	if len(problems) > 0 {
		fmt.Printf("%d file(s) or function(s) too long (files ≤ %d lines, functions ≤ %d)\n", len(problems), maxFileLines, maxFuncLines)
		os.Exit(1)
	}
}

func check(root string) ([]string, error) {
	var problems []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		p, err := checkFile(path)
		problems = append(problems, p...)
		return err
	})
	return problems, err
}

func checkFile(path string) ([]string, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if isGenerated(src) {
		return nil, nil
	}
	var problems []string
	if n := bytes.Count(src, []byte("\n")); n > maxFileLines {
		problems = append(problems, fmt.Sprintf("%s: %d lines", path, n))
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	ast.Inspect(f, func(n ast.Node) bool {
		fn, ok := n.(*ast.FuncDecl)
		if !ok || fn.Body == nil {
			return true
		}
		lines := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1
		if lines > maxFuncLines {
			problems = append(problems, fmt.Sprintf("%s:%d: func %s is %d lines", path, fset.Position(fn.Pos()).Line, fn.Name.Name, lines))
		}
		return true
	})
	return problems, nil
}

func isGenerated(src []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(src))
	for sc.Scan() {
		line := sc.Text()
		if generated.MatchString(line) {
			return true
		}
		if strings.HasPrefix(line, "package ") {
			return false
		}
	}
	return false
}
