package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestPushSendsWhatItChecked: push checks every file before it sends
// anything, then sends them a batch at a time. A file changed after the
// check is never sent unchecked: a single file is sent as it was read for
// the check (it is not read again), and of several files one that no
// longer hashes as it did is refused before any of it is sent, with the
// objects of the files before it named as stored.
func TestPushSendsWhatItChecked(t *testing.T) {
	base, st, _ := demoNode(t)
	aur := st.Members[0]
	first, _ := bigBundle(t, 2, 10, aur.ID)
	second, _ := bigBundle(t, 3, 10, aur.ID)
	many, _ := bigBundle(t, pushBatch+500, 10, aur.ID) // one envelope sent, then the file after it
	other, _ := bigBundle(t, 5, 20, aur.ID)
	otherData, err := os.ReadFile(other)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		files     []string
		change    string // the file rewritten between the check and the sending
		with      []byte
		code      int
		stdout    string
		stderr    []string
		notStdout string
	}{
		{
			name: "one file, then not JSON", files: []string{first}, change: first, with: []byte("not JSON"),
			code: 0, stdout: "pushed 2 objects: 2 succeeded, 0 failed, 0 conflicts",
		},
		{
			name: "the second of two files, then other objects", files: []string{first, second}, change: second, with: otherData,
			code: 2, stderr: []string{second + " changed since push checked it: nothing of it was sent"},
			notStdout: "status",
		},
		{
			name: "the second of two files after an envelope, then other objects", files: []string{many, second}, change: second, with: otherData,
			code: 2, stdout: "status", stderr: []string{second + " changed since push checked it: nothing of it was sent", fmt.Sprintf("the node stored %d of the %d objects before the error", pushBatch, pushBatch+503)},
			notStdout: "pushed",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			saved := map[string][]byte{}
			for _, f := range tc.files {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				saved[f] = b
			}
			t.Cleanup(func() {
				for f, b := range saved {
					if err := os.WriteFile(f, b, 0o600); err != nil {
						t.Error(err)
					}
				}
			})
			pushChecked = func() {
				if err := os.WriteFile(tc.change, tc.with, 0o600); err != nil {
					t.Error(err)
				}
			}
			defer func() { pushChecked = nil }()
			var out, errb bytes.Buffer
			c := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
			args := append([]string{"push", "--url", base, "--token", aur.Token, "--key", aur.KeyFile, "--collection", st.Collections.Shared, "--on-conflict", "skip"}, tc.files...)
			code := c.main(context.Background(), args)
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s %s", code, tc.code, out.String(), errb.String())
			}
			if !strings.Contains(out.String(), tc.stdout) {
				t.Errorf("stdout %q lacks %q", out.String(), tc.stdout)
			}
			if tc.notStdout != "" && strings.Contains(out.String(), tc.notStdout) {
				t.Errorf("stdout %q has %q", out.String(), tc.notStdout)
			}
			for _, want := range tc.stderr {
				if !strings.Contains(errb.String(), want) {
					t.Errorf("stderr %q lacks %q", errb.String(), want)
				}
			}
		})
	}
}
