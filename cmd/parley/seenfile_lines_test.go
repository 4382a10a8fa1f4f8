package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
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

// TestReportSeenFaultsManyCheckpoints: a seen file doctored with many
// forged checkpoints and many near-forgeries names the first
// maxNamedCheckpoints of each and counts the rest, so stderr stays
// bounded; the error still counts every forged one.
func TestReportSeenFaultsManyCheckpoints(t *testing.T) {
	skey, vkey, err := note.GenerateKey(rand.Reader, "log.example/parley")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	const forged, near = 1000, 500
	var notes []string
	line := func(size uint64, id uint32) string {
		sig := make([]byte, 4+64)
		binary.BigEndian.PutUint32(sig, id)
		return string(tlog.Checkpoint{Origin: v.Name(), Size: size}.Marshal()) + "\n\u2014 " + v.Name() + " " + base64.StdEncoding.EncodeToString(sig) + "\n"
	}
	for i := range forged {
		notes = append(notes, line(uint64(100+i), v.KeyHash()))
	}
	for i := range near {
		notes = append(notes, line(uint64(5000+i), v.KeyHash()+1))
	}
	good, err := note.Sign(&note.Note{Text: string(tlog.Checkpoint{Origin: v.Name(), Size: 6}.Marshal())}, signer)
	if err != nil {
		t.Fatal(err)
	}
	seen := &tlog.SeenCheckpoints{Notes: append([]string{string(good)}, notes...)}
	var stderr bytes.Buffer
	c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr, getenv: func(string) string { return "" }}
	n, err := reportSeenFaults(c, "pull", seen, v, "seen.json")
	if n != forged || err == nil || !strings.Contains(err.Error(), fmt.Sprintf("holds %d checkpoint(s)", forged)) {
		t.Fatalf("reportSeenFaults = %d, %v; want %d forged and the error counting them", n, err, forged)
	}
	out := stderr.String()
	if got := strings.Count(out, "that claims the log's key"); got != maxNamedCheckpoints {
		t.Errorf("%d forged checkpoints named, want %d", got, maxNamedCheckpoints)
	}
	if got := strings.Count(out, "but key ID"); got != maxNamedCheckpoints {
		t.Errorf("%d near-forgeries named, want %d", got, maxNamedCheckpoints)
	}
	for _, want := range []string{fmt.Sprintf("holds %d more such checkpoints", forged-maxNamedCheckpoints), fmt.Sprintf("holds %d more checkpoints under the log key's name", near-maxNamedCheckpoints)} {
		if !strings.Contains(out, want) {
			t.Errorf("stderr doesn't say %q:\n%.3000s", want, out)
		}
	}
	if len(out) > 16<<10 {
		t.Errorf("stderr is %d bytes, want a bounded report", len(out))
	}
}
