package main

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/node"
)

// readmeInvocation matches `parley COMMAND ARGS...` in the README and
// docs/: the command word and the rest of the invocation, up to the end of
// the line, a pipe, a `;`, `&`, `)`, a backquote or a comment.
var readmeInvocation = regexp.MustCompile("(?:^|[\\s`(/$])parley ([a-z]+)((?:[ \\t]+[^\\s|;&)`#]+)*)")

// invocationFlag matches a flag in an invocation: --name, --name=value,
// or --name followed by punctuation.
var invocationFlag = regexp.MustCompile(`^--([a-z0-9][a-z0-9-]*)`)

// subcommandWord matches a word where an invocation names a subcommand.
var subcommandWord = regexp.MustCompile(`^[a-z][a-z-]*$`)

// helpFlag matches a flag line of a command's --help.
var helpFlag = regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`)

// TestREADMEMatchesCLI keeps what the README and docs/ say of the CLI in
// step with the registered commands, both ways: every command appears in
// the README as `parley NAME`, every subcommand and every flag somewhere in
// the README or docs/; every flag the docs give an invocation of a command
// is one that command takes; an invocation of a command with subcommands
// names one of them; and `parley help` names every subcommand of a
// command in that command's line.
func TestREADMEMatchesCLI(t *testing.T) {
	docs := readDocs(t)
	readme := docs["README.md"]
	all := ""
	for _, text := range docs {
		all += text + "\n"
	}

	// flags of each command or subcommand, as its --help lists them.
	flagsOf := map[string]map[string]bool{}
	helpFlags := func(args ...string) map[string]bool {
		key := strings.Join(args, " ")
		if f, ok := flagsOf[key]; ok {
			return f
		}
		code, out, stderr := runCLI(t, append(args, "--help")...)
		if code != 0 {
			t.Fatalf("parley %s --help: exit %d: %s", key, code, stderr)
		}
		f := map[string]bool{"help": true}
		for _, m := range helpFlag.FindAllStringSubmatch(out, -1) {
			f[m[1]] = true
		}
		flagsOf[key] = f
		return f
	}

	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	_, top, _ := runCLI(t, "help")
	for _, n := range names {
		cmd := commands[n]
		if _, desc := splitUsage(cmd.usage); desc == "" {
			t.Errorf("parley help: %s has no description after its synopsis", n)
		}
		if !regexp.MustCompile(`parley ` + regexp.QuoteMeta(n) + `\b`).MatchString(readme) {
			t.Errorf("README.md never shows parley %s", n)
		}
		groups := [][]string{{n}}
		if len(cmd.subcommands) > 0 {
			groups = nil
			line := ""
			// The command's synopsis and, on the next line, its description.
			lines := strings.Split(top, "\n")
			for i, l := range lines {
				if strings.HasPrefix(l, "  "+n+" ") {
					line = l
					if i+1 < len(lines) && strings.HasPrefix(lines[i+1], "      ") {
						line += "\n" + lines[i+1]
					}
					break
				}
			}
			for _, s := range cmd.subcommands {
				groups = append(groups, []string{n, s.name})
				if !regexp.MustCompile(`parley ` + regexp.QuoteMeta(n+" "+s.name) + `\b`).MatchString(all) {
					t.Errorf("neither README.md nor docs/ shows parley %s %s", n, s.name)
				}
				if !regexp.MustCompile(`\b` + regexp.QuoteMeta(s.name) + `\b`).MatchString(line) {
					t.Errorf("parley help: the line of %s doesn't name its subcommand %s: %q", n, s.name, line)
				}
			}
		}
		for _, g := range groups {
			f := helpFlags(g...)
			fl := make([]string, 0, len(f))
			for x := range f {
				fl = append(fl, x)
			}
			sort.Strings(fl)
			for _, x := range fl {
				if x != "help" && !strings.Contains(all, "--"+x) {
					t.Errorf("parley %s --%s is in no README.md or docs/ text", strings.Join(g, " "), x)
				}
			}
		}
	}

	// Every flag of an invocation in the docs is one its command takes.
	checked := 0
	for _, inv := range docInvocations(docs) {
		cmd := commands[inv.command[0]]
		if len(cmd.subcommands) > 0 && len(inv.command) == 1 && len(inv.rest) > 0 && subcommandWord.MatchString(inv.rest[0]) {
			t.Errorf("%s:%d: parley %s has no subcommand %s", inv.file, inv.line, inv.command[0], inv.rest[0])
		}
		f := helpFlags(inv.command...)
		for _, tok := range inv.rest {
			fm := invocationFlag.FindStringSubmatch(tok)
			if fm == nil {
				continue
			}
			name := fm[1]
			checked++
			if !f[name] {
				t.Errorf("%s:%d: parley %s takes no --%s", inv.file, inv.line, strings.Join(inv.command, " "), name)
			}
		}
	}
	if checked < 100 {
		t.Errorf("checked only %d flags of invocations in the docs; the pattern no longer finds them", checked)
	}
}

// readDocs returns README.md and docs/*.md, by their names from the
// repository's root.
func readDocs(t *testing.T) map[string]string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{"README.md": string(readme)}
	paths, err := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no docs/*.md (%v)", err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		docs["docs/"+filepath.Base(p)] = string(b)
	}
	return docs
}

// docInvocation is an invocation of a registered command that the docs
// show (readmeInvocation).
type docInvocation struct {
	file string
	line int
	// command is the command's name and, when the next word names one of
	// its subcommands, that subcommand's.
	command []string
	// rest is the words after the command's name (the subcommand's
	// included).
	rest []string
}

// docInvocations returns the invocations of registered commands in docs
// ([readDocs]), by file name then line. A line ending in a backslash goes
// on on the next.
func docInvocations(docs map[string]string) []docInvocation {
	files := make([]string, 0, len(docs))
	for f := range docs {
		files = append(files, f)
	}
	sort.Strings(files)
	var invs []docInvocation
	for _, file := range files {
		lines := strings.Split(docs[file], "\n")
		for i := 0; i < len(lines); i++ {
			first, line := i+1, lines[i]
			for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
				i++
				line = strings.TrimSuffix(line, "\\") + " " + strings.TrimSpace(lines[i])
			}
			for _, m := range readmeInvocation.FindAllStringSubmatch(line, -1) {
				cmd, ok := commands[m[1]]
				if !ok {
					continue // prose: "parley may", "parley doesn't"
				}
				inv := docInvocation{file: file, line: first, command: []string{m[1]}, rest: strings.Fields(m[2])}
				if len(inv.rest) > 0 {
					for _, s := range cmd.subcommands {
						if s.name == inv.rest[0] {
							inv.command = append(inv.command, s.name)
							break
						}
					}
				}
				invs = append(invs, inv)
			}
		}
	}
	return invs
}

// TestREADMEConfigFields checks that every field of config.json (the
// node.Config type, its witnesses' fields and node.PrivateConfig's, under
// "private", included) is
// named, as `field` or "field", in README.md or docs/, so that an operator
// who reads them learns of every setting.
func TestREADMEConfigFields(t *testing.T) {
	all := ""
	paths, err := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no docs/*.md (%v)", err)
	}
	for _, p := range append(paths, filepath.Join("..", "..", "README.md")) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		all += string(b) + "\n"
	}
	fields := allConfigFields()
	if len(fields) < 30 {
		t.Fatalf("found only %d config.json fields in node.Config", len(fields))
	}
	for _, f := range fields {
		name := f[strings.LastIndex(f, ".")+1:]
		if !strings.Contains(all, "`"+name+"`") && !strings.Contains(all, `"`+name+`"`) && !strings.Contains(all, "`"+f+"`") {
			t.Errorf("config.json field %s is in neither README.md nor docs/", f)
		}
	}
}

// configFields lists the JSON names of t's fields, recursing into struct
// and slice-of-struct fields ("private.query_budget", "witnesses.url").
func configFields(t reflect.Type, prefix string) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		out = append(out, prefix+name)
		ft := f.Type
		for ft.Kind() == reflect.Slice || ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft.PkgPath() == reflect.TypeOf(node.Config{}).PkgPath() {
			out = append(out, configFields(ft, prefix+name+".")...)
		}
	}
	return out
}

// allConfigFields lists the fields of config.json: node.Config's and,
// under "private" (which node.Config leaves to node.LoadPrivateConfig),
// node.PrivateConfig's.
func allConfigFields() []string {
	fields := configFields(reflect.TypeOf(node.Config{}), "")
	fields = append(fields, "private")
	return append(fields, configFields(reflect.TypeOf(node.PrivateConfig{}), "private.")...)
}

// configKey matches a JSON object key: "name":.
var configKey = regexp.MustCompile(`"([a-z][a-z0-9_-]*)"\s*:`)

// configNamed matches a field named as one of config.json: `name` in
// config.json, `name` (config.json, ...).
var configNamed = regexp.MustCompile("`([a-z][a-z0-9_-]*)`,? (?:in |\\()`?config\\.json")

// TestDocsConfigFieldsExist is TestREADMEConfigFields the other way: a
// field that a paragraph of README.md or docs/ about config.json names,
// as a JSON key ("name": ...) or as `name` in config.json, is a field of
// config.json (at any depth: a witness's "url" is one), so that no text
// sends an operator to set a field the node refuses as unknown.
func TestDocsConfigFieldsExist(t *testing.T) {
	known := map[string]bool{}
	for _, f := range allConfigFields() {
		known[f[strings.LastIndex(f, ".")+1:]] = true
	}
	paths, err := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no docs/*.md (%v)", err)
	}
	checked := 0
	for _, p := range append(paths, filepath.Join("..", "..", "README.md")) {
		if filepath.Base(p) == "benchmarks.md" {
			continue // a dated record of what was measured then
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		line := 1
		for _, para := range strings.Split(string(b), "\n\n") {
			if strings.Contains(para, "config.json") {
				ms := append(configKey.FindAllStringSubmatch(para, -1), configNamed.FindAllStringSubmatch(para, -1)...)
				for _, m := range ms {
					checked++
					if !known[m[1]] {
						t.Errorf("%s:%d: the paragraph names %q as a config.json field; there is none", filepath.Base(p), line, m[1])
					}
				}
			}
			line += strings.Count(para, "\n") + 2
		}
	}
	if checked < 20 {
		t.Errorf("checked only %d config.json fields in the docs; the patterns no longer find them", checked)
	}
}

// docFlag matches a flag named in prose or an example: --name, not the
// middle of a word or of a longer dash run.
var docFlag = regexp.MustCompile(`(?:^|[^A-Za-z0-9-])--([a-z][a-z0-9-]*[a-z0-9])`)

// TestDocsFlagsExist checks that every --flag that docs/*.md name, in an
// invocation or in prose ("with --seen"), is a flag of some parley command
// or subcommand, so that a renamed or removed flag doesn't live on in the
// design records. (TestREADMEMatchesCLI checks the flags of invocations
// against their own command; README.md also names other tools' flags.)
func TestDocsFlagsExist(t *testing.T) {
	known := map[string]bool{}
	collect := func(args ...string) {
		code, out, stderr := runCLI(t, append(args, "--help")...)
		if code != 0 {
			t.Fatalf("parley %s --help: exit %d: %s", strings.Join(args, " "), code, stderr)
		}
		for _, m := range helpFlag.FindAllStringSubmatch(out, -1) {
			known[m[1]] = true
		}
	}
	for n, cmd := range commands {
		if len(cmd.subcommands) == 0 {
			collect(n)
		}
		for _, s := range cmd.subcommands {
			collect(n, s.name)
		}
	}
	if len(known) < 50 {
		t.Fatalf("found only %d flags in the commands' --help", len(known))
	}
	paths, err := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no docs/*.md (%v)", err)
	}
	sort.Strings(paths)
	checked := 0
	for _, p := range paths {
		if filepath.Base(p) == "benchmarks.md" {
			continue // a dated record of what was measured then
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, m := range docFlag.FindAllStringSubmatch(line, -1) {
				checked++
				if !known[m[1]] {
					t.Errorf("docs/%s:%d: --%s is a flag of no parley command", filepath.Base(p), i+1, m[1])
				}
			}
		}
	}
	if checked < 100 {
		t.Errorf("checked only %d flags in docs/; the pattern no longer finds them", checked)
	}
}

// TestREADMEGoVersion: the README says which Go builds parley, and it is
// the go.mod's: a new user with an older Go otherwise meets go.mod's
// "requires go >=" (or a toolchain download) on the README's first command.
func TestREADMEGoVersion(t *testing.T) {
	mod, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go ([0-9.]+)$`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "Go " + string(m[1]) + " or later"; !strings.Contains(string(readme), want) {
		t.Errorf("README.md doesn't say %q (go.mod's go line)", want)
	}
}
