package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// TestPullNotesSummarised: pull names the first few objects with each
// note and counts the rest, by note; a collection of 15,186 relayed
// objects printed 15,186 lines.
func TestPullNotesSummarised(t *testing.T) {
	var b bytes.Buffer
	s := newNoteSummary(&b, "parley: pull: ")
	relayed := "unsigned: nobody vouches for its content (the collection accepts unsigned objects); relayed by identity--a; claims to be from identity--b (not verified)"
	for i := range 15186 {
		s.add(fmt.Sprintf("indicator--%d", i), relayed)
		if i < 2 {
			s.add(fmt.Sprintf("malware--%d", i), "signed with a key the operator rotated in")
		}
	}
	for i := range notesKept + 3 {
		s.add(fmt.Sprintf("tool--%d", i), fmt.Sprintf("relayed by identity--%d", i))
	}
	s.close()
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	// 5 relayed, 2 operator-asserted, one for each of the 97 other notes
	// kept, "and 15181 more", "and 3 more with other notes".
	if want := notesShown + 2 + (notesKept - 2) + 2; len(lines) != want {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), want, b.String())
	}
	if lines[0] != "parley: pull: indicator--0: "+relayed {
		t.Errorf("first line %q", lines[0])
	}
	if want := fmt.Sprintf("parley: pull: and 15181 more objects (15186 in all): %s", relayed); !strings.Contains(b.String(), want+"\n") {
		t.Errorf("no line %q in:\n%s", want, b.String())
	}
	if !strings.HasSuffix(b.String(), "parley: pull: and 5 more objects with other notes (relayed, unsigned or signed with a key this log doesn't hold)\n") {
		t.Errorf("the last line counts no other notes:\n%s", lines[len(lines)-1])
	}
}
