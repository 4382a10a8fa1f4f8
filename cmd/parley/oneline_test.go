package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
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

// An empty or binary token file is refused naming the file (exit 2): an
// empty one was reported as a missing --token, a binary one as the
// node's refusing the request ("invalid header field value").
func TestReadTokenFileRefuses(t *testing.T) {
	dir := t.TempDir()
	for content, want := range map[string]string{
		" \n\n":             "is empty",
		"\x00\x01\xffk\x1b": "holds binary data",
	} {
		path := filepath.Join(dir, "token")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		tok := "unchanged"
		err := readToken(io.Discard, &tok, path)
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), want) || tok != "unchanged" {
			t.Errorf("readToken(%q) = %v (exit %d), token %q; want exit 2 with %q", content, err, exitCode(err), tok, want)
		}
	}
}
