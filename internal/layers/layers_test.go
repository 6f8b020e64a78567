package layers

import (
	"bufio"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/gnomon-ntp/gnomon"

// rule is one line of the document's rules block.
type rule struct {
	pkg     string   // path below the module, "." for none
	imports []string // gnomon packages it may import directly ("*": any)
	goOK    bool     // may start goroutines
	logOK   bool     // may import log/slog
	ioOK    bool     // may import os, net, syscall, x/sys, tarm/serial, periph host
	line    int
}

// readRules parses the ```rules block of docs/ARCHITECTURE.md: one
// package a line, "pkg: imp imp ... | go log io".
func readRules(t *testing.T) (map[string]rule, []string) {
	t.Helper()
	f, err := os.Open("../../docs/ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rules := map[string]rule{}
	var global []string
	in := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "```rules":
			in = true
			continue
		case in && line == "```":
			in = false
			continue
		case !in || line == "" || strings.HasPrefix(line, "#"):
			continue
		}
		if rest, ok := strings.CutPrefix(line, "never:"); ok {
			global = append(global, strings.Fields(rest)...)
			continue
		}
		name, rest, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("ARCHITECTURE.md:%d: rule without a colon: %q", n, line)
		}
		imps, flags, _ := strings.Cut(rest, "|")
		r := rule{pkg: strings.TrimSpace(name), line: n}
		for _, imp := range strings.Fields(imps) {
			if imp != "-" {
				r.imports = append(r.imports, imp)
			}
		}
		for _, fl := range strings.Fields(flags) {
			switch fl {
			case "go":
				r.goOK = true
			case "log":
				r.logOK = true
			case "io":
				r.ioOK = true
			case "pure":
			default:
				t.Fatalf("ARCHITECTURE.md:%d: unknown flag %q", n, fl)
			}
		}
		if _, dup := rules[r.pkg]; dup {
			t.Fatalf("ARCHITECTURE.md:%d: %s given twice", n, r.pkg)
		}
		rules[r.pkg] = r
	}
	if len(rules) == 0 {
		t.Fatal("ARCHITECTURE.md has no ```rules block")
	}
	return rules, global
}

type listed struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Imports    []string
	Deps       []string
}

func goList(t *testing.T, args ...string) []listed {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go command not found: %v", err)
	}
	cmd := exec.Command(goBin, append([]string{"list", "-json"}, args...)...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []listed
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p listed
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func rel(path string) string {
	if path == module {
		return "."
	}
	return strings.TrimPrefix(path, module+"/")
}

// ioImport reports whether imp reaches outside the process.
func ioImport(imp string) bool {
	switch imp {
	case "os", "net", "syscall", "os/exec", "os/user", "os/signal", "net/http", "io/ioutil":
		return true
	}
	if imp == "net/netip" { // address values only
		return false
	}
	for _, p := range []string{"golang.org/x/sys", "github.com/tarm/serial", "periph.io/x/host", "net/"} {
		if strings.HasPrefix(imp, p) {
			return true
		}
	}
	return false
}

// TestLayerRules checks every package of the module against its rule.
func TestLayerRules(t *testing.T) {
	rules, global := readRules(t)
	pkgs := goList(t, "./...")
	seen := map[string]bool{}
	for _, p := range pkgs {
		name := rel(p.ImportPath)
		seen[name] = true
		r, ok := rules[name]
		if !ok {
			t.Errorf("%s has no rule in docs/ARCHITECTURE.md", name)
			continue
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, module) {
				target := rel(imp)
				if !slices.Contains(r.imports, "*") && !slices.Contains(r.imports, target) {
					t.Errorf("%s imports %s (ARCHITECTURE.md:%d allows %v)", name, target, r.line, r.imports)
				}
				if strings.HasPrefix(target, "cmd/") && !strings.HasPrefix(name, "cmd/") {
					t.Errorf("%s imports the command package %s", name, target)
				}
			}
			if imp == "log/slog" && !r.logOK {
				t.Errorf("%s logs (imports log/slog); ARCHITECTURE.md:%d does not allow it", name, r.line)
			}
			if ioImport(imp) && !r.ioOK {
				t.Errorf("%s does I/O (imports %s); ARCHITECTURE.md:%d does not allow it", name, imp, r.line)
			}
		}
		if !r.goOK {
			for _, f := range p.GoFiles {
				if pos, ok := goStatement(t, filepath.Join(p.Dir, f)); ok {
					t.Errorf("%s starts a goroutine at %s; ARCHITECTURE.md:%d does not allow it", name, pos, r.line)
				}
			}
		}
	}
	// File rules: pure algorithm files inside a package that also holds
	// its I/O edge.
	for name, r := range rules {
		if !strings.HasSuffix(name, ".go") {
			continue
		}
		seen[name] = true
		checkFile(t, name, r)
	}
	for name, r := range rules {
		if !seen[name] {
			t.Errorf("ARCHITECTURE.md:%d names %s, which is not a package", r.line, name)
		}
	}
	// Packages no production binary may link (test helpers, testing).
	for _, cmdPkg := range []string{"./cmd/gnomon", "./cmd/ntpload"} {
		for _, p := range goList(t, "-deps", cmdPkg) {
			if slices.Contains(global, rel(p.ImportPath)) || slices.Contains(global, p.ImportPath) {
				t.Errorf("%s links %s", cmdPkg, p.ImportPath)
			}
		}
	}
}

// goStatement returns the position of the first go statement in file.
func goStatement(t *testing.T, file string) (string, bool) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var pos string
	ast.Inspect(f, func(n ast.Node) bool {
		if g, ok := n.(*ast.GoStmt); ok && pos == "" {
			pos = fset.Position(g.Pos()).String()
		}
		return pos == ""
	})
	return pos, pos != ""
}

// checkFile applies a file rule: its imports and goroutines.
func checkFile(t *testing.T, name string, r rule) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filepath.Join("../..", name), nil, parser.ImportsOnly)
	if err != nil {
		t.Errorf("ARCHITECTURE.md:%d: %v", r.line, err)
		return
	}
	for _, is := range f.Imports {
		imp := strings.Trim(is.Path.Value, `"`)
		if imp == "log/slog" && !r.logOK {
			t.Errorf("%s logs; ARCHITECTURE.md:%d does not allow it", name, r.line)
		}
		if ioImport(imp) && !r.ioOK {
			t.Errorf("%s does I/O (imports %s); ARCHITECTURE.md:%d does not allow it", name, imp, r.line)
		}
		if strings.HasPrefix(imp, module) && !slices.Contains(r.imports, "*") && !slices.Contains(r.imports, rel(imp)) {
			t.Errorf("%s imports %s (ARCHITECTURE.md:%d allows %v)", name, rel(imp), r.line, r.imports)
		}
	}
	if !r.goOK {
		if pos, ok := goStatement(t, filepath.Join("../..", name)); ok {
			t.Errorf("%s starts a goroutine at %s; ARCHITECTURE.md:%d does not allow it", name, pos, r.line)
		}
	}
}
