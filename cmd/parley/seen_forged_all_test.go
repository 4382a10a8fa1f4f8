package main

import (
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/internal/demo"
	"github.com/parley-exchange/parley/tlog"
)

// TestSeenFileForgedEveryReader: audit named a forged checkpoint in the
// seen file (one that claims the log's key, its name and key ID, but
// whose signature doesn't verify) and failed, exit 1; pull, match,
// export, concurrence, opinion, private check, withdraw and receipt, and
// restore --seen read the same file strictly but passed over it in
// silence. Now every reader reports it through one path
// (reportSeenFaults): the same lines, the same error, exit 1. A
// near-forgery (the log key's name under another key ID) is named in a
// note and fails nothing on its own. The source scan at the end keeps
// the table complete: a new reader of seen files must be added to it.
func TestSeenFileForgedEveryReader(t *testing.T) {
	base, st, dir := demoNode(t)
	a := st.Members[0]
	vkey := nodeLogKey(t, dir)
	v, err := tlog.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	// A seen file of this log, as an audit writes it.
	good := filepath.Join(t.TempDir(), "seen.json")
	if code, _, stderr := runCLI(t, "audit", "--url", base, "--token", a.Token, "--log-key", vkey, "--seen", good); code != 0 {
		t.Fatalf("first audit: exit %d\n%s", code, stderr)
	}
	seen, err := tlog.LoadSeen(good)
	if err != nil {
		t.Fatal(err)
	}
	var n string
	for _, have := range seen.Notes {
		if !strings.HasPrefix(have, "parley-key-index") {
			n = have
		}
	}
	text, sigs, _ := strings.Cut(n, "\n\n")
	lines := strings.Split(text, "\n")
	// Forged: the log's signature line under another size.
	forged := lines[0] + "\n99\n" + lines[2] + "\n\n" + sigs
	// Near: signed by another key of the log key's name.
	skey, _, err := note.GenerateKey(rand.Reader, v.Name())
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	near, err := note.Sign(&note.Note{Text: lines[0] + "\n98\n" + lines[2] + "\n"}, signer)
	if err != nil {
		t.Fatal(err)
	}
	write := func(notes ...string) string {
		t.Helper()
		s := *seen
		s.Notes = append(slices.Clone(seen.Notes), notes...)
		b, err := json.Marshal(struct {
			Key   string   `json:"key"`
			Notes []string `json:"checkpoints"`
		}{s.Key, s.Notes})
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "seen.json")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	values := filepath.Join(t.TempDir(), "values.txt")
	if err := os.WriteFile(values, []byte("ipv4-addr:203.0.113.77\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "private", "publish", "--url", base, "--token", a.Token, "--collection", st.Collections.Shared, "--values", values)
	if code != 0 {
		t.Fatalf("private publish: exit %d: %s", code, stderr)
	}
	set := strings.TrimSpace(stdout)
	backup := filepath.Join(t.TempDir(), "node.backup")
	if code, _, stderr := runCLI(t, "backup", "--data", dir, "--out", backup); code != 0 {
		t.Fatalf("backup: exit %d: %s", code, stderr)
	}
	remote := []string{"--url", base, "--token", a.Token}
	var restored string // the restore's DIR, absent after a refused restore
	cases := []struct {
		name string
		file string // the source file that reads the seen file
		args func(seen string) []string
	}{
		{"audit", "audit.go", func(s string) []string {
			return append([]string{"audit", "--log-key", vkey, "--seen", s}, remote...)
		}},
		{"pull", "pull.go", func(s string) []string {
			return append([]string{"pull", "--seen", s, "--collection", st.Collections.Shared}, remote...)
		}},
		{"match", "match.go", func(s string) []string {
			return append([]string{"match", "--seen", s, "--collection", st.Collections.Shared}, remote...)
		}},
		{"export", "export.go", func(s string) []string {
			return append([]string{"export", "--format", "zeek-intel", "--seen", s, "--collection", st.Collections.Shared}, remote...)
		}},
		{"export", "export_misp.go", func(s string) []string {
			return append([]string{"export", "--format", "misp-feed", "--out", filepath.Join(t.TempDir(), "feed"), "--seen", s, "--collection", st.Collections.Shared}, remote...)
		}},
		{"concurrence", "concurrence.go", func(s string) []string {
			return append([]string{"concurrence", "--seen", s, demo.Report}, remote...)
		}},
		{"proof", "proof.go", func(s string) []string {
			return append([]string{"proof", "--seen", s, demo.Report}, remote...)
		}},
		{"opinion", "opinion.go", func(s string) []string {
			return append([]string{"opinion", "--seen", s, "--key", a.KeyFile, demo.Report, "agree"}, remote...)
		}},
		{"private check", "private.go", func(s string) []string {
			return append(append([]string{"private", "check", "--seen", s, "--set", set}, remote...), values)
		}},
		{"private withdraw", "private.go", func(s string) []string {
			return append([]string{"private", "withdraw", "--seen", s, "--set", set, "--key", a.KeyFile}, remote...)
		}},
		{"private receipt", "private.go", func(s string) []string {
			return append([]string{"private", "receipt", "--seen", s, "--set", set}, remote...)
		}},
		{"restore", "backup.go", func(s string) []string {
			restored = filepath.Join(t.TempDir(), "restored")
			return []string{"restore", "--data", restored, "--from", backup, "--seen", s}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Near-forgery alone: named, nothing fails for it.
			code, _, stderr := runCLI(t, tc.args(write(string(near)))...)
			if strings.Contains(stderr, "claims the log's key") || !strings.Contains(stderr, "parley: "+tc.name+": note: the seen file") ||
				!strings.Contains(stderr, "of size 98") || !strings.Contains(stderr, "but key ID") {
				t.Errorf("near-forgery: exit %d, want it named in a note\n%s", code, stderr)
			}
			code, _, stderr = runCLI(t, tc.args(write(forged, string(near)))...)
			if code != 1 || !strings.Contains(stderr, "parley: "+tc.name+": the seen file ") ||
				!strings.Contains(stderr, "holds a checkpoint of size 99") || !strings.Contains(stderr, "claims the log's key but whose signature doesn't verify") ||
				!strings.Contains(stderr, "parley: error: the seen file ") || !strings.Contains(stderr, "holds 1 checkpoint(s) that claim the log's key but whose signature doesn't verify: the seen file was changed") ||
				!strings.Contains(stderr, "of size 98") {
				t.Errorf("forged: exit %d, want 1 naming it\n%s", code, stderr)
			}
			if _, err := os.Stat(restored); tc.name == "restore" && !os.IsNotExist(err) {
				t.Errorf("the refused restore left %s: %v", restored, err)
			}
		})
	}
	// Every source file that reads a seen file is in the table, but for
	// logtrust.go, whose trustFlags.pin each command with trust flags
	// reads it through: those that make the flags, and those that read
	// through them or backup.go's reader (export_misp.go, given the
	// flags by export.go, was missed).
	readers := regexp.MustCompile(`addTrustFlags\(|tlog\.LoadSeen|readSeenCheckpoints\(|\.pin\(|\.loadSeen\(|\.objectVerifier\(`)
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "logtrust.go" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if readers.Match(b) && !slices.ContainsFunc(cases, func(c struct {
			name string
			file string
			args func(string) []string
		}) bool {
			return c.file == f
		}) {
			t.Errorf("%s reads seen files (addTrustFlags, tlog.LoadSeen*, or through trustFlags or readSeenCheckpoints) but no command of it is in this test's table", f)
		}
	}
}
