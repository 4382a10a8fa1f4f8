package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"io"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/tlog"
)

// TestReportSeenFaultsManyLines: a doctored seen file's near-forgery
// with a great many signature lines of the log key's name, each under
// another key ID (20 bytes a line: a 20 MB file has a million), had
// every reader of the file join all their key IDs into one string, one
// at a time: time quadratic in the lines (minutes for a few hundred
// thousand) and a stderr line of megabytes. The note names at most
// maxNamedKeyIDs distinct key IDs and counts the rest.
func TestReportSeenFaultsManyLines(t *testing.T) {
	skey, vkey, err := note.GenerateKey(rand.Reader, "log.example/parley")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	text := string(tlog.Checkpoint{Origin: v.Name(), Size: 7}.Marshal())
	var b strings.Builder
	b.WriteString(text + "\n")
	const lines = 200_000
	sig := make([]byte, 4+64)
	for i := range lines {
		id := uint32(i)
		if id == v.KeyHash() {
			id++
		}
		binary.BigEndian.PutUint32(sig, id)
		b.WriteString("\u2014 " + v.Name() + " " + base64.StdEncoding.EncodeToString(sig) + "\n")
	}
	good, err := note.Sign(&note.Note{Text: string(tlog.Checkpoint{Origin: v.Name(), Size: 6}.Marshal())}, signer)
	if err != nil {
		t.Fatal(err)
	}
	seen := &tlog.SeenCheckpoints{Notes: []string{string(good), b.String()}}
	var stderr bytes.Buffer
	c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr, getenv: func(string) string { return "" }}
	done := make(chan error, 1)
	go func() {
		_, err := reportSeenFaults(c, "pull", seen, v, "seen.json")
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("a near-forgery alone failed the command: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatalf("reportSeenFaults of one note of %d lines still running after a minute", lines)
	}
	out := stderr.String()
	if !strings.Contains(out, "of size 7") || !strings.Contains(out, "but key ID") {
		t.Fatalf("the near-forgery isn't named:\n%.2000s", out)
	}
	if len(out) > 4<<10 {
		t.Errorf("stderr is %d bytes for one near-forgery, want a bounded note", len(out))
	}
	if !strings.Contains(out, "and 199992 more") {
		t.Errorf("the key IDs past the first %d aren't counted:\n%.2000s", maxNamedKeyIDs, out)
	}
}
