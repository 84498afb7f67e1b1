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
		pkgs, err := parser.ParseDir(fset, dir, func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
		if err != nil {
			panic(err)
		}
		n, ex := 0, 0
		for _, p := range pkgs {
			for _, f := range p.Files {
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
		tpkgs, _ := parser.ParseDir(fset, dir, func(fi os.FileInfo) bool { return strings.HasSuffix(fi.Name(), "_test.go") }, 0)
		for _, p := range tpkgs {
			for _, f := range p.Files {
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
