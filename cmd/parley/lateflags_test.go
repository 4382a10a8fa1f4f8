package main

import (
	"bytes"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestEveryFlagClassified: every flag of every command and subcommand
// the CLI registers (as its --help lists them) is in lateFlagClasses, so
// that a new flag that decides what parley trusts, which secret it sends
// or signs with, or where it writes is warned of when it comes after an
// argument (TestTrustingFlagAfterArgumentWarns) because whoever added it
// had to say which it is; and every name classified is a flag of some
// command, so the table says what the CLI has.
func TestEveryFlagClassified(t *testing.T) {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	used := map[string]bool{}
	lines := 0
	for _, n := range names {
		groups := [][]string{{n}}
		if subs := commands[n].subcommands; len(subs) > 0 {
			groups = nil
			for _, s := range subs {
				groups = append(groups, []string{n, s.name})
			}
		}
		for _, g := range groups {
			lines++
			code, out, stderr := runCLI(t, append(g, "--help")...)
			if code != 0 {
				t.Fatalf("parley %s --help: exit %d: %s", strings.Join(g, " "), code, stderr)
			}
			for _, m := range helpFlag.FindAllStringSubmatch(out, -1) {
				used[m[1]] = true
				if _, ok := lateFlagClasses[m[1]]; !ok {
					t.Errorf("parley %s --%s is in no class of lateFlagClasses (main.go): say whether it is trusting, secret, destination or harmless", strings.Join(g, " "), m[1])
				}
			}
		}
	}
	if lines < 30 || len(used) < 50 {
		t.Fatalf("only %d command lines and %d flags found in the command table", lines, len(used))
	}
	for name := range lateFlagClasses {
		if !used[name] {
			t.Errorf("lateFlagClasses classifies --%s, a flag of no command", name)
		}
	}
}

// TestFlagValueDashDashEndsNothing: "--" ends the flags where a flag is
// expected, but as a flag's value ("--explanation --") it is that value,
// and the flags after it are still flags, not arguments.
func TestFlagValueDashDashEndsNothing(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		text     string
		json     bool
		wantArgs []string
	}{
		{[]string{"ID", "--text", "--", "--json"}, "--", true, []string{"ID"}},
		{[]string{"--text", "--", "ID", "--json"}, "--", true, []string{"ID"}},
		{[]string{"ID", "--text=--", "--json", "--", "--x"}, "--", true, []string{"ID", "--x"}},
		{[]string{"ID", "--", "--text", "x", "--json"}, "", false, []string{"ID", "--text", "x", "--json"}},
		{[]string{"--json", "--", "--text", "--"}, "", true, []string{"--text", "--"}},
	} {
		c := &cli{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: func(string) string { return "" }}
		fs := c.newFlagSet("test")
		text := fs.String("text", "", "")
		json := fs.Bool("json", false, "")
		if err := c.parseFlags(fs, tc.args); err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		if *text != tc.text || *json != tc.json || strings.Join(fs.Args(), " ") != strings.Join(tc.wantArgs, " ") {
			t.Errorf("%q: --text %q, --json %v, arguments %q; want %q, %v, %q", tc.args, *text, *json, fs.Args(), tc.text, tc.json, tc.wantArgs)
		}
	}
}

// helpFlagArity matches a flag line of a command's --help and what
// follows the name: nothing for a bool flag, the value's name for others.
var helpFlagArity = regexp.MustCompile(`(?m)^  -([a-z0-9-]+)([^\n\t]*)`)

// TestDocumentedInvocationsDontWarn: no invocation the README or docs/
// show gives a flag that parley warns of after an argument
// (lateFlagClasses) after one, so that what the docs teach prints no
// warning, and a warning still means something (TestTrustingFlagAfterArgumentWarns).
// Flags go before files and ids in the docs; the README's words on
// flags after arguments use harmless flags (--format) for examples.
func TestDocumentedInvocationsDontWarn(t *testing.T) {
	takesValue := map[string]map[string]bool{}
	flagsOf := func(command []string) map[string]bool {
		key := strings.Join(command, " ")
		if f, ok := takesValue[key]; ok {
			return f
		}
		code, out, stderr := runCLI(t, append(slices.Clone(command), "--help")...)
		if code != 0 {
			t.Fatalf("parley %s --help: exit %d: %s", key, code, stderr)
		}
		f := map[string]bool{}
		for _, m := range helpFlagArity.FindAllStringSubmatch(out, -1) {
			f[m[1]] = strings.TrimSpace(m[2]) != ""
		}
		takesValue[key] = f
		return f
	}
	checked := 0
	for _, inv := range docInvocations(readDocs(t)) {
		flags := flagsOf(inv.command)
		rest := shellWords(strings.Join(inv.rest[len(inv.command)-1:], " "))
		// The words after a subcommand's name that select it too
		// ("member key rotate").
		usage, _ := synopsis(strings.Join(inv.command, " "))
		for _, w := range commandLine(usage)[len(inv.command):] {
			if len(rest) > 0 && rest[0] == w {
				rest = rest[1:]
			}
		}
		after := "" // the first argument, once one came
		for i := 0; i < len(rest); i++ {
			// Brackets and braces of a synopsis ("[--out FILE | --url U]")
			// aren't words of the command line.
			w := strings.Trim(rest[i], "[](){}")
			if w == "--" {
				break
			}
			if w == "" || w == "|" || strings.HasPrefix(w, "...") || strings.HasPrefix(w, "…") {
				continue
			}
			name, _, hasValue := strings.Cut(strings.TrimLeft(w, "-"), "=")
			valued, isFlag := flags[name]
			if !strings.HasPrefix(w, "-") || w == "-" || !isFlag {
				if after == "" {
					after = w
				}
				continue
			}
			checked++
			if class := lateFlagClasses[name]; class.warned() && after != "" {
				t.Errorf("%s:%d: parley %s %s gives --%s after the argument %s, which parley warns of (it changes %s): give it before", inv.file, inv.line, inv.command[0], strings.Join(inv.rest, " "), name, after, class)
			}
			if valued && !hasValue {
				i++
			}
		}
	}
	if checked < 100 {
		t.Errorf("checked only %d flags of invocations in the docs; the pattern no longer finds them", checked)
	}
}

// shellWords splits s into words at spaces, as a shell would but for
// quotes and placeholders: a '…' or "…" quote, or a <…> placeholder, is
// part of one word, with its spaces (an unclosed one goes to the end).
func shellWords(s string) []string {
	var words []string
	var w strings.Builder
	in := rune(0) // the closing quote of the quote we are in, or 0
	started := false
	for _, r := range s {
		switch {
		case in != 0:
			w.WriteRune(r)
			if r == in {
				in = 0
			}
		case r == '\'' || r == '"':
			in = r
			w.WriteRune(r)
			started = true
		case r == '<':
			in = '>'
			w.WriteRune(r)
			started = true
		case r == ' ' || r == '\t':
			if started {
				words = append(words, w.String())
				w.Reset()
				started = false
			}
		default:
			w.WriteRune(r)
			started = true
		}
	}
	if started {
		words = append(words, w.String())
	}
	return words
}
