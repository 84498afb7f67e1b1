// Command apicount prints, per package directory, the exported identifiers
// (top-level types, functions, constants, variables and methods of exported
// types; struct fields are not counted) and the Example functions of its
// tests: the API-size figures of ARCHITECTURE.md (make api).
package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
)

func main() {
	total := 0
	for _, dir := range os.Args[1:] {
		fset := token.NewFileSet()
		files, err := parseDir(fset, dir, false)
		if err != nil {
			panic(err)
		}
		n := 0
		for _, f := range files {
			for _, d := range f.Decls {
				n += exported(d)
			}
		}
		tests, err := parseDir(fset, dir, true)
		if err != nil {
			panic(err)
		}
		ex := 0
		for _, f := range tests {
			for _, d := range f.Decls {
				if fd, ok := d.(*ast.FuncDecl); ok && strings.HasPrefix(fd.Name.Name, "Example") {
					ex++
				}
			}
		}
		fmt.Printf("%-40s %3d exported, %d examples\n", dir, n, ex)
		total += n
	}
	fmt.Println("total", total)
}

// exported counts the exported names d declares: a function, a method of
// an exported type, types, constants and variables (not struct fields).
func exported(d ast.Decl) int {
	switch d := d.(type) {
	case *ast.FuncDecl:
		if !d.Name.IsExported() {
			return 0
		}
		if d.Recv != nil {
			t := d.Recv.List[0].Type
			if s, ok := t.(*ast.StarExpr); ok {
				t = s.X
			}
			if id, ok := t.(*ast.Ident); ok && !id.IsExported() {
				return 0
			}
		}
		return 1
	case *ast.GenDecl:
		n := 0
		for _, s := range d.Specs {
			switch s := s.(type) {
			case *ast.TypeSpec:
				if s.Name.IsExported() {
					n++
				}
			case *ast.ValueSpec:
				for _, nm := range s.Names {
					if nm.IsExported() {
						n++
					}
				}
			}
		}
		return n
	}
	return 0
}

// parseDir parses the .go files of dir: its tests, or the rest.
func parseDir(fset *token.FileSet, dir string, tests bool) ([]*ast.File, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []*ast.File
	for _, e := range entries {
		n := e.Name()
		if !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") != tests {
			continue
		}
		f, err := parser.ParseFile(fset, dir+"/"+n, nil, 0)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}
