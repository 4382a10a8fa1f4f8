package main

import (
	"regexp"
	"sort"
	"strings"
	"testing"
)

// commandWord is a word of a command line: a command's or subcommand's name.
var commandWord = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// commandLine returns the words that select a command or subcommand, from
// its registered synopsis ("member key rotate --data DIR ..." gives
// member, key, rotate): the lowercase words before the first flag or
// argument.
func commandLine(usage string) []string {
	synopsis, _ := splitUsage(usage)
	var words []string
	for _, w := range strings.Fields(synopsis) {
		if !commandWord.MatchString(w) {
			break
		}
		words = append(words, w)
	}
	return words
}

// registeredCommandLines returns the words of every command and
// subcommand the CLI registers: a command with subcommands by each of
// them, not by itself (its first argument names the subcommand).
func registeredCommandLines(t *testing.T) [][]string {
	t.Helper()
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	var lines [][]string
	for _, n := range names {
		cmd := commands[n]
		usages := []string{cmd.usage}
		if len(cmd.subcommands) > 0 {
			usages = usages[:0]
			for _, s := range cmd.subcommands {
				usages = append(usages, s.usage)
			}
		}
		for _, u := range usages {
			words := commandLine(u)
			if len(words) == 0 || words[0] != n {
				t.Fatalf("command %s: can't tell its command line from its usage %q", n, u)
			}
			lines = append(lines, words)
		}
	}
	return lines
}

// TestFlagsAfterPositionals: every command and subcommand the CLI
// registers reads flags after its positional arguments as before them
// (`parley sign FILE --key K`): a flag after an argument is parsed as a
// flag (an unknown one is reported as such, --help prints the help), not
// taken as a file or an extra argument; after "--" everything is an
// argument, so a file named like a flag can still be given. A command
// that takes no positionals refuses them, after reading the flags that
// follow them.
func TestFlagsAfterPositionals(t *testing.T) {
	t.Chdir(t.TempDir())
	lines := registeredCommandLines(t)
	if len(lines) < 30 {
		t.Fatalf("only %d command lines found in the command table", len(lines))
	}
	for _, words := range lines {
		name := strings.Join(words, " ")
		t.Run(name, func(t *testing.T) {
			run := func(args ...string) (int, string, string) {
				t.Helper()
				return runCLI(t, append(append([]string{}, words...), args...)...)
			}
			code, _, stderr := run("an-argument", "--no-such-flag")
			if code != 2 || !strings.Contains(stderr, "parley: error: flag provided but not defined: -no-such-flag") {
				t.Errorf("a flag after an argument isn't read as a flag: exit %d\n%s", code, stderr)
			}
			code, stdout, stderr := run("an-argument", "--help")
			if code != 0 || !strings.HasPrefix(stdout, "usage: parley "+name) {
				t.Errorf("--help after an argument: exit %d\n%s%s", code, stdout, stderr)
			}
			code, _, stderr = run("an-argument", "--", "-x", "--no-such-flag")
			if code == 0 || strings.Contains(stderr, "not defined") {
				t.Errorf("after --, an argument like a flag was read as a flag: exit %d\n%s", code, stderr)
			}
		})
	}
}
