package discipline

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoDebugOutput: the discipline's production files neither call the
// println/print builtins nor keep debug switches; it logs through the I/O
// edge's slog only.
func TestNoDebugOutput(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if id, ok := n.Fun.(*ast.Ident); ok && (id.Name == "println" || id.Name == "print") {
					t.Errorf("%s: %s call", fset.Position(n.Pos()), id.Name)
				}
			case *ast.ValueSpec:
				for _, id := range n.Names {
					if strings.HasPrefix(strings.ToLower(id.Name), "debug") {
						t.Errorf("%s: debug switch %s", fset.Position(id.Pos()), id.Name)
					}
				}
			}
			return true
		})
	}
}
