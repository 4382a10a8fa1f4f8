package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// An error is printed on one line whatever its message holds: pgx's
// connection errors put each host tried on a line of its own ("\n\t"),
// and those lines came out without the "parley: error: " prefix.
func TestPrintErrorOneLine(t *testing.T) {
	for _, tc := range []struct{ msg, want string }{
		{"plain", "parley: error: plain\n"},
		{"trailing newline\n", "parley: error: trailing newline\n"},
		{"couldn't connect to PostgreSQL at 127.0.0.1:1: failed to connect to `user=u database=d`:\n\t127.0.0.1:1 (127.0.0.1): dial error: connection refused\n\t[::1]:1: dial error: connection refused",
			"parley: error: couldn't connect to PostgreSQL at 127.0.0.1:1: failed to connect to `user=u database=d`: 127.0.0.1:1 (127.0.0.1): dial error: connection refused; [::1]:1: dial error: connection refused\n"},
		{"a\r\n\r\nb", "parley: error: a; b\n"},
	} {
		var out bytes.Buffer
		c := &cli{stderr: &out}
		c.printError(errors.New(tc.msg))
		if out.String() != tc.want {
			t.Errorf("printError(%q) printed %q, want %q", tc.msg, out.String(), tc.want)
		}
		if strings.Count(out.String(), "\n") != 1 {
			t.Errorf("printError(%q) printed %d lines", tc.msg, strings.Count(out.String(), "\n"))
		}
	}
}

// A bad flag is one "parley: error:" line and a hint, exit 2, for every
// command: the flag package's bare message ("flag provided but not
// defined: -bogus") was followed by the command's whole usage on stderr.
func TestBadFlagOneLine(t *testing.T) {
	for _, args := range [][]string{
		{"pull", "--bogus"},
		{"member", "add", "--data"},
		{"opinion", "--confidence", "x"},
		{"witness", "serve", "--data", "d", "--log", "k", "--bogus"},
		{"match", "--batch=-"},
	} {
		var out, errb bytes.Buffer
		c := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
		code := c.main(context.Background(), args)
		lines := strings.Split(strings.TrimSuffix(errb.String(), "\n"), "\n")
		if code != 2 || len(lines) != 2 || !strings.HasPrefix(lines[0], "parley: error: ") || !strings.HasPrefix(lines[1], "parley: hint: 'parley help ") || out.Len() != 0 {
			t.Errorf("parley %s: exit %d, stdout %q, stderr:\n%s", strings.Join(args, " "), code, out.String(), errb.String())
		}
	}
}
