package layering

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const module = "github.com/parley-exchange/parley/"

// layer returns the layer of a package of this module; a higher layer may
// import a lower or equal one, never a higher one.
func layer(pkg string) (int, bool) {
	rel := strings.TrimPrefix(pkg, module)
	switch {
	case rel == "stix", rel == "internal/untrusted", rel == "internal/slowlink", rel == "internal/held", rel == "internal/cursor":
		return 0, true
	case rel == "pattern", rel == "tlog", rel == "pdq", rel == "private", rel == "opinion":
		return 1, true
	case rel == "taxii", rel == "witness", rel == "misp", rel == "ioc":
		return 2, true
	case strings.HasPrefix(rel, "internal/store"), strings.HasPrefix(rel, "internal/match"), rel == "internal/feed", rel == "internal/demo":
		return 3, true
	case strings.HasPrefix(rel, "internal/node"), strings.HasPrefix(rel, "internal/peer"), strings.HasPrefix(rel, "internal/web"):
		return 4, true
	case strings.HasPrefix(rel, "cmd/"), strings.HasPrefix(rel, "bench"):
		return 5, true
	case rel == "internal/layering":
		return 6, true
	}
	return 0, false
}

func TestImportsPointDown(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", "../../...").Output()
	if err != nil {
		t.Fatalf("couldn't list packages: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		seen++
		from, ok := layer(p.ImportPath)
		if !ok {
			t.Errorf("package %s has no layer: add it to layer() and STYLE's table", p.ImportPath)
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			to, ok := layer(imp)
			if ok && to > from {
				t.Errorf("%s (layer %d) imports %s (layer %d): imports must point down", p.ImportPath, from, imp, to)
			}
		}
	}
	if seen < 5 {
		t.Fatalf("listed only %d packages; the go list pattern is wrong", seen)
	}
}

// packageRow matches a row of docs/design.md's package table: "| `pkg` |".
var packageRow = regexp.MustCompile("(?m)^\\| `([a-z0-9/]+)` \\|")

// TestDesignPackageMap keeps the package table of docs/design.md ("The
// shape of the code") in step with the module, both ways: every package
// has a row, and every row names a package that exists.
func TestDesignPackageMap(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "design.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## The shape of the code\n")
	if !ok {
		t.Fatal(`docs/design.md has no section "The shape of the code"`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	rows := map[string]bool{}
	for _, m := range packageRow.FindAllStringSubmatch(section, -1) {
		if rows[m[1]] {
			t.Errorf("docs/design.md: package %s has two rows", m[1])
		}
		rows[m[1]] = true
	}
	out, err := exec.Command("go", "list", "../../...").Output()
	if err != nil {
		t.Fatalf("couldn't list packages: %v", err)
	}
	pkgs := strings.Fields(string(out))
	if len(pkgs) < 5 {
		t.Fatalf("listed only %d packages; the go list pattern is wrong", len(pkgs))
	}
	exists := map[string]bool{}
	for _, p := range pkgs {
		rel := strings.TrimPrefix(p, module)
		exists[rel] = true
		if !rows[rel] {
			t.Errorf("package %s has no row in docs/design.md's package table", rel)
		}
	}
	for r := range rows {
		if !exists[r] {
			t.Errorf("docs/design.md's package table has a row for %s, which is no package", r)
		}
	}
}
