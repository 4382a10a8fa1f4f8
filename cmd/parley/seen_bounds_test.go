package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/tlog"
)

// TestSeenFileBounds: a seen file of more notes than any parley writes
// (over twice tlog.MaxSeenNotes: every reader verifies each note, and a
// doctored file of a million cost about a minute of CPU) is refused by
// each command that reads one, with exit 3 and what is wrong, and left as
// it is; so is, by the audit that starts from one, a file holding one
// signed checkpoint over tlog.MaxCheckpointNote (padded with signature
// lines). The file of as many notes as a reader takes is read.
func TestSeenFileBounds(t *testing.T) {
	base, st, dir := demoNode(t)
	token := st.Members[0].Token
	vkey := nodeLogKey(t, dir)
	tmp := t.TempDir()
	seen := filepath.Join(tmp, "seen.json")
	if code, _, stderr := runCLI(t, "audit", "--url", base, "--token", token, "--log-key", vkey, "--seen", seen); code != 0 {
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
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	var n string // the checkpoint (the file keeps the key index in the list too)
	for _, have := range file.Notes {
		if !strings.HasPrefix(have, "parley-key-index") {
			n = have
		}
	}
	// The file's notes (its key index among them), then copies of the
	// checkpoint up to the given number of notes.
	writeSeen := func(name string, notes int) string {
		t.Helper()
		f := file
		f.Notes = append([]string(nil), file.Notes...)
		for len(f.Notes) < notes {
			f.Notes = append(f.Notes, n)
		}
		out, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(tmp, name)
		if err := os.WriteFile(path, out, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tooMany := writeSeen("too-many.json", 2*tlog.MaxSeenNotes+1)
	most := writeSeen("most.json", 2*tlog.MaxSeenNotes)
	commands := []struct {
		name string
		args []string
	}{
		{"audit", []string{"audit", "--url", base, "--token", token, "--log-key", vkey}},
		{"pull", []string{"pull", "--url", base, "--token", token, "--collection", st.Collections.Shared}},
	}
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			before, _ := os.ReadFile(tooMany)
			code, _, stderr := runCLI(t, append(c.args, "--seen", tooMany)...)
			if code != 3 || !strings.Contains(stderr, fmt.Sprintf("it holds %d notes, over the limit", 2*tlog.MaxSeenNotes+1)) {
				t.Fatalf("a seen file of %d notes: exit %d, want 3\n%s", 2*tlog.MaxSeenNotes+1, code, stderr)
			}
			if after, _ := os.ReadFile(tooMany); !bytes.Equal(before, after) {
				t.Fatal("the refused seen file was changed")
			}
			if code, _, stderr := runCLI(t, append(c.args, "--seen", most)...); code != 0 {
				t.Fatalf("a seen file of %d notes: exit %d\n%s", 2*tlog.MaxSeenNotes, code, stderr)
			}
		})
	}
	t.Run("oversized checkpoint", func(t *testing.T) {
		var pad strings.Builder
		pad.WriteString(n)
		for pad.Len() <= tlog.MaxCheckpointNote {
			pad.WriteString("— witness.example/junk AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n")
		}
		path := filepath.Join(tmp, "witness-checkpoint")
		if err := os.WriteFile(path, []byte(pad.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := runCLI(t, append(commands[0].args, "--seen", path)...)
		if code == 0 || !strings.Contains(stderr, "over the limit") {
			t.Fatalf("a checkpoint of %d bytes: exit %d\n%s", pad.Len(), code, stderr)
		}
		if after, _ := os.ReadFile(path); string(after) != pad.String() {
			t.Fatal("the refused checkpoint file was changed")
		}
	})
}
