package main

import (
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// TestAuditSeenFileTampered: a checkpoint in the seen file that claims the
// log's key but whose signature doesn't verify (made up, or changed) was
// passed over silently by every check against seen checkpoints; now the
// audit names it and fails (exit 1) after checking the log, which it
// says checks. A checkpoint signed only by another key (one kept under a
// key pinned before) is a note, and the audit passes.
func TestAuditSeenFileTampered(t *testing.T) {
	base, token, _, vkey, _, _ := auditedDemo(t)
	seen := filepath.Join(t.TempDir(), "seen.json")
	audit := func() (int, string) {
		code, _, stderr := runCLI(t, "audit", "--url", base, "--token", token, "--log-key", vkey, "--seen", seen)
		return code, stderr
	}
	if code, stderr := audit(); code != 0 {
		t.Fatalf("first audit: exit %d\n%s", code, stderr)
	}
	b, err := os.ReadFile(seen)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Key   string   `json:"key"`
		Notes []string `json:"checkpoints"`
	}
	if err := json.Unmarshal(b, &file); err != nil || len(file.Notes) == 0 {
		t.Fatalf("seen file %s: %v", b, err)
	}
	var n string // the checkpoint (the file keeps the key index in the list too)
	for _, have := range file.Notes {
		if !strings.HasPrefix(have, "parley-key-index") {
			n = have
		}
	}
	kept := file.Notes
	text, sigs, _ := strings.Cut(n, "\n\n")
	lines := strings.Split(text, "\n")
	write := func(notes ...string) {
		file.Notes = append(append([]string(nil), kept...), notes...)
		out, _ := json.Marshal(file)
		if err := os.WriteFile(seen, out, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Another key's checkpoint of the same origin: a note, no failure.
	skey, _, err := note.GenerateKey(rand.Reader, "old.example/log")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	other, err := note.Sign(&note.Note{Text: lines[0] + "\n99\n" + lines[2] + "\n"}, signer)
	if err != nil {
		t.Fatal(err)
	}
	write(string(other))
	if code, stderr := audit(); code != 0 || !strings.Contains(stderr, "1 checkpoint(s) not signed by the log's key") {
		b, _ := os.ReadFile(seen)
		t.Fatalf("audit with another key's checkpoint: exit %d\n%s\n%s", code, stderr, b)
	}
	// The log's signature line under another size: forged.
	write(lines[0] + "\n99\n" + lines[2] + "\n\n" + sigs)
	code, stderr := audit()
	if code != 1 || !strings.Contains(stderr, "holds a checkpoint of size 99") || !strings.Contains(stderr, "claims the log's key") ||
		!strings.Contains(stderr, "the rest of the log checks") {
		t.Fatalf("audit with a forged checkpoint: exit %d, want 1\n%s", code, stderr)
	}
}
