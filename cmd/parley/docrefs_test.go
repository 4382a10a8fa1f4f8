package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// docTestName matches a test, fuzz target or benchmark that a text names.
var docTestName = regexp.MustCompile(`\b(?:Test|Fuzz|Benchmark)[A-Z][A-Za-z0-9_]*`)

// testFunc matches the declaration of one in a _test.go file.
var testFunc = regexp.MustCompile(`(?m)^func ((?:Test|Fuzz|Benchmark)[A-Za-z0-9_]*)\(`)

// docFilePath matches a path of the repository that a text names: a file
// under a top-level directory of the module, with an extension
// (internal/node/routes.go, opinion/testdata/vectors.json).
var docFilePath = regexp.MustCompile(`(?:^|[\s\x60(\[,;"'])((?:cmd|internal|stix|pattern|tlog|taxii|private|pdq|opinion|witness|misp|ioc|docs|contrib|testdata)/[A-Za-z0-9_./-]*\.(?:go|json|txt|md|js|html|css|sql|sh))\b`)

// TestDocsReferencesExist checks that what README.md and docs/*.md cite
// as evidence is there: every test, fuzz target or benchmark they name
// (`TestFrontEndsKill9`) is declared in some _test.go file of the
// module, and every file path they name (internal/node/storeopen.go)
// exists, so that a renamed test or a moved file doesn't leave a claim
// that points at nothing.
func TestDocsReferencesExist(t *testing.T) {
	root := filepath.Join("..", "..")
	declared := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range testFunc.FindAllStringSubmatch(string(b), -1) {
			declared[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(declared) < 100 {
		t.Fatalf("found only %d tests in the module", len(declared))
	}

	paths, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no docs/*.md (%v)", err)
	}
	paths = append(paths, filepath.Join(root, "README.md"))
	sort.Strings(paths)
	tests, files := 0, 0
	for _, p := range paths {
		name := filepath.Base(p)
		if name != "README.md" {
			name = "docs/" + name
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, m := range docTestName.FindAllString(line, -1) {
				tests++
				if !declared[m] {
					t.Errorf("%s:%d: %s is declared in no _test.go file", name, i+1, m)
				}
			}
			for _, m := range docFilePath.FindAllStringSubmatch(line, -1) {
				files++
				if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(m[1]))); err != nil {
					t.Errorf("%s:%d: %s: %v", name, i+1, m[1], err)
				}
			}
		}
	}
	if tests < 100 || files < 20 {
		t.Errorf("checked only %d test names and %d file paths in the docs; the patterns no longer find them", tests, files)
	}
}

// docGoName matches a Go name of the module's packages in backquotes:
// `tlog.CheckQuorum`, `store.IntegratorLease`, `witness.Client.Submit`.
var docGoName = regexp.MustCompile("`(stix|pattern|tlog|taxii|private|pdq|opinion|witness|misp|ioc|store|node|peer|feed|web|match|sqlite|postgres|storetest|pgtest|untrusted|held|slowlink|demo)\\.([A-Z][A-Za-z0-9_]*)(?:\\.([A-Za-z_][A-Za-z0-9_]*))?")

// TestDocsGoNamesExist checks that every `pkg.Name` (or `pkg.Type.Name`)
// of one of the module's packages that README.md and docs/*.md name is
// declared in that package: a function, type, variable or constant, or a
// method or field of the type (a call such as `stix.Sign` or
// `stix.SignatureExtensionDefinition()` counts as its name).
func TestDocsGoNamesExist(t *testing.T) {
	root := filepath.Join("..", "..")
	// decls[package name] holds "Name" and "Type.Name" of its non-test files.
	decls := map[string]map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		names := decls[f.Name.Name]
		if names == nil {
			names = map[string]bool{}
			decls[f.Name.Name] = names
		}
		for _, decl := range f.Decls {
			switch decl := decl.(type) {
			case *ast.FuncDecl:
				if decl.Recv == nil || len(decl.Recv.List) == 0 {
					names[decl.Name.Name] = true
					continue
				}
				typ := decl.Recv.List[0].Type
				if star, ok := typ.(*ast.StarExpr); ok {
					typ = star.X
				}
				if idx, ok := typ.(*ast.IndexExpr); ok {
					typ = idx.X
				}
				if id, ok := typ.(*ast.Ident); ok {
					names[id.Name+"."+decl.Name.Name] = true
				}
			case *ast.GenDecl:
				for _, spec := range decl.Specs {
					switch spec := spec.(type) {
					case *ast.ValueSpec:
						for _, n := range spec.Names {
							names[n.Name] = true
						}
					case *ast.TypeSpec:
						names[spec.Name.Name] = true
						var fields *ast.FieldList
						switch typ := spec.Type.(type) {
						case *ast.StructType:
							fields = typ.Fields
						case *ast.InterfaceType:
							fields = typ.Methods
						}
						if fields == nil {
							continue
						}
						for _, f := range fields.List {
							for _, n := range f.Names {
								names[spec.Name.Name+"."+n.Name] = true
							}
							if len(f.Names) == 0 { // embedded
								typ := f.Type
								if star, ok := typ.(*ast.StarExpr); ok {
									typ = star.X
								}
								switch typ := typ.(type) {
								case *ast.Ident:
									names[spec.Name.Name+"."+typ.Name] = true
								case *ast.SelectorExpr:
									names[spec.Name.Name+"."+typ.Sel.Name] = true
								}
							}
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	paths, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no docs/*.md (%v)", err)
	}
	paths = append(paths, filepath.Join(root, "README.md"))
	sort.Strings(paths)
	checked := 0
	for _, p := range paths {
		name := filepath.Base(p)
		if name == "benchmarks.md" {
			continue // a dated record: it names the code of its day
		}
		if name != "README.md" {
			name = "docs/" + name
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, m := range docGoName.FindAllStringSubmatch(line, -1) {
				if docTestName.MatchString(m[2]) {
					continue // a test: TestDocsReferencesExist's
				}
				names := decls[m[1]]
				checked++
				ok := names[m[2]]
				if ok && m[3] != "" {
					// A method or field of a type, or (for a
					// variable or function) something of its value
					// that the text names: only a type's is checked.
					ok = names[m[2]+"."+m[3]] || !isTypeName(m[2])
				}
				if !ok {
					t.Errorf("%s:%d: %s is declared in no package %s", name, i+1, strings.TrimPrefix(m[0], "`"), m[1])
				}
			}
		}
	}
	if checked < 100 {
		t.Errorf("checked only %d Go names in the docs; the pattern no longer finds them", checked)
	}
}

// isTypeName reports whether a Go name looks like a type's (Client,
// Config), not a function's or a value's; a guess that only decides
// whether `pkg.X.Y` is checked as a method or field of X.
func isTypeName(name string) bool {
	return name != "" && name[0] >= 'A' && name[0] <= 'Z'
}

// docSectionRef matches a reference to a section of another text:
// docs/log.md, "Seen checkpoints"; README, "Deployment"; the README's
// "Deployment".
var docSectionRef = regexp.MustCompile(`(?:docs/([a-z]+\.md)|\b([a-z]+\.md)|(README)(?:\.md)?(?:'s)?),? "([^"]+)"`)

// TestDocsSectionReferencesExist checks that every section that README.md
// and docs/*.md send the reader to in another text (docs/log.md, "Seen
// checkpoints"; README, "Deployment") is there: a heading that begins
// with its title, or a paragraph that begins with it in bold.
func TestDocsSectionReferencesExist(t *testing.T) {
	root := filepath.Join("..", "..")
	texts := map[string]string{}
	paths, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no docs/*.md (%v)", err)
	}
	for _, p := range append(paths, filepath.Join(root, "README.md")) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		texts[filepath.Base(p)] = string(b)
	}
	hasSection := func(text, title string) bool {
		for _, line := range strings.Split(text, "\n") {
			line = strings.TrimLeft(line, "0123456789. ")
			if h := strings.TrimLeft(line, "#"); h != line && strings.HasPrefix(strings.TrimSpace(h), title) {
				return true
			}
			if strings.HasPrefix(line, "**"+title) {
				return true
			}
		}
		return false
	}
	names := make([]string, 0, len(texts))
	for n := range texts {
		names = append(names, n)
	}
	sort.Strings(names)
	checked := 0
	for _, name := range names {
		if name == "benchmarks.md" {
			continue // a dated record: it names the texts of its day
		}
		for i, line := range strings.Split(texts[name], "\n") {
			for _, m := range docSectionRef.FindAllStringSubmatch(line, -1) {
				target := m[1] + m[2]
				if m[3] != "" {
					target = "README.md"
				}
				text, ok := texts[target]
				if !ok {
					continue // another project's file
				}
				checked++
				if !hasSection(text, m[4]) {
					shown := name
					if shown != "README.md" {
						shown = "docs/" + shown
					}
					t.Errorf("%s:%d: %s has no section %q", shown, i+1, target, m[4])
				}
			}
		}
	}
	if checked < 20 {
		t.Errorf("checked only %d section references in the docs; the pattern no longer finds them", checked)
	}
}
