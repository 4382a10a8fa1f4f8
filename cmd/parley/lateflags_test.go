package main

import (
	"bytes"
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
