package archtest

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/polyregion/polyregion"

// services are the packages that each implement one product; they share code only through
// the shared parts below them.
var services = []string{"dns", "edge", "tables", "objects", "sql", "console"}

type pkg struct {
	dir     string // relative to the module root, slash-separated
	imports map[string]bool
	hasDoc  bool
}

func loadPackages(t *testing.T) map[string]*pkg {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	pkgs := map[string]*pkg{}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		p := pkgs[rel]
		if p == nil {
			p = &pkg{dir: rel, imports: map[string]bool{}}
			pkgs[rel] = p
		}
		if f.Doc != nil && !strings.HasSuffix(path, "_test.go") && strings.HasPrefix(strings.TrimSpace(f.Doc.Text()), "Package "+f.Name.Name) ||
			f.Doc != nil && f.Name.Name == "main" && strings.HasPrefix(strings.TrimSpace(f.Doc.Text()), "Command ") {
			p.hasDoc = true
		}
		for _, imp := range f.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			if rest, ok := strings.CutPrefix(ip, module+"/"); ok {
				p.imports[rest] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// serviceOf returns the service a package belongs to, or "".
func serviceOf(dir string) string {
	for _, s := range services {
		if dir == "internal/"+s || strings.HasPrefix(dir, "internal/"+s+"/") {
			return s
		}
	}
	return ""
}

func TestServicesDoNotImportEachOther(t *testing.T) {
	for _, p := range loadPackages(t) {
		from := serviceOf(p.dir)
		for imp := range p.imports {
			to := serviceOf(imp)
			switch {
			case from != "" && to != "" && from != to:
				t.Errorf("%s imports %s: services never import one another; move what they share into a shared part", p.dir, imp)
			case from == "" && to != "" && strings.HasPrefix(p.dir, "internal/") && !slices.Contains([]string{"internal/app", "internal/mtest"}, p.dir):
				t.Errorf("%s imports the service %s: shared parts sit below the services", p.dir, imp)
			}
		}
	}
}

func TestOnlyCmdImportsApp(t *testing.T) {
	for _, p := range loadPackages(t) {
		if p.imports["internal/app"] && !strings.HasPrefix(p.dir, "cmd/") && p.dir != "internal/mtest" {
			t.Errorf("%s imports internal/app: only cmd (and the test harness) may", p.dir)
		}
	}
}

func TestEveryPackageHasADocComment(t *testing.T) {
	for _, p := range loadPackages(t) {
		if !p.hasDoc {
			t.Errorf("%s has no package doc comment (// Package x ...)", p.dir)
		}
	}
}

// TestRulesBite makes sure the rules above would catch a violation.
func TestRulesBite(t *testing.T) {
	if serviceOf("internal/dns/policy") != "dns" || serviceOf("internal/dnsutil") != "" || serviceOf("internal/tables") != "tables" {
		t.Error("serviceOf misclassifies packages")
	}
}
