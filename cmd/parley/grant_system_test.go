package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestGrantToSystemMemberRefusedCLI: collection grant, collection add
// --read/--write and feed add --read naming a feed's member (feed:NAME,
// which has no token) are usage errors (exit 2) that say why and hint
// whom to grant instead; before, collection grant gave it read.
func TestGrantToSystemMemberRefusedCLI(t *testing.T) {
	data := filepath.Join(t.TempDir(), "node")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	if code, _, stderr := runCLI(t, "feed", "add", "--data", data, "--url", "https://taxii.example/api/", "--collection", "x", "--into", "third party", "--name", "tp"); code != 0 {
		t.Fatalf("feed add: %s", stderr)
	}
	if code, _, stderr := runCLI(t, "collection", "add", "--data", data, "--title", "shared"); code != 0 {
		t.Fatalf("collection add: %s", stderr)
	}
	for _, args := range [][]string{
		{"collection", "grant", "--data", data, "--collection", "shared", "--member", "feed:tp", "--read"},
		{"collection", "grant", "--data", data, "--collection", "shared", "--member", "feed:tp", "--write"},
		{"collection", "grant", "--data", data, "--collection", "third party", "--member", "feed:tp"},
		{"collection", "add", "--data", data, "--title", "other", "--read", "feed:tp"},
		{"collection", "add", "--data", data, "--title", "other", "--write", "feed:tp"},
		{"feed", "add", "--data", data, "--url", "https://taxii2.example/api/", "--collection", "y", "--into", "second", "--read", "feed:tp"},
	} {
		code, stdout, stderr := runCLI(t, args...)
		if code != 2 || !strings.Contains(stderr, "feed:tp is the member of a peer or a feed") || !strings.Contains(stderr, "hint: grant read to the members who read") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", strings.Join(args[:2], " "), code, stdout, stderr)
		}
	}
}
