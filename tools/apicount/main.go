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
		n, ex := 0, 0
		{
			for _, f := range files {
				for _, d := range f.Decls {
					switch d := d.(type) {
					case *ast.FuncDecl:
						if d.Name.IsExported() {
							if d.Recv != nil {
								t := d.Recv.List[0].Type
								if s, ok := t.(*ast.StarExpr); ok {
									t = s.X
								}
								if id, ok := t.(*ast.Ident); ok && !id.IsExported() {
									continue
								}
							}
							n++
						}
					case *ast.GenDecl:
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
					}
				}
			}
		}
		// Examples
		tfiles, _ := parseDir(fset, dir, true)
		{
			for _, f := range tfiles {
				for _, d := range f.Decls {
					if fd, ok := d.(*ast.FuncDecl); ok && strings.HasPrefix(fd.Name.Name, "Example") {
						ex++
					}
				}
			}
		}
		fmt.Printf("%-40s %3d exported, %d examples\n", dir, n, ex)
		total += n
	}
	fmt.Println("total", total)
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
