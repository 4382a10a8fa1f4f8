package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/node"
)

// TestCollectionGrant: collection grant gives an existing member read,
// write or (with neither flag) both on a collection named by title or
// id, keeping what it has, while the node's store stays open elsewhere
// (as under serve); an unknown member or collection, a removed member and
// bad usage are refused with a usage error, changing nothing.
func TestCollectionGrant(t *testing.T) {
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "node")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	for _, name := range []string{"alice", "bob", "carol"} {
		if code, _, stderr := runCLI(t, "member", "add", "--data", data, "--name", name); code != 0 {
			t.Fatalf("member add %s: %s", name, stderr)
		}
	}
	code, stdout, stderr := runCLI(t, "collection", "add", "--data", data, "--title", "shared", "--read", "alice", "--write", "alice")
	if code != 0 {
		t.Fatalf("collection add: %s", stderr)
	}
	coll := strings.TrimSpace(stdout)

	// The node stays open, as a serving one would.
	n, err := node.Open(ctx, data, node.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	bob, err := n.ResolveMember(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	access := func() (bool, bool) {
		t.Helper()
		rd, wr, err := n.Store().Access(ctx, coll, bob.ID)
		if err != nil {
			t.Fatal(err)
		}
		return rd, wr
	}

	code, stdout, stderr = runCLI(t, "collection", "grant", "--data", data, "--collection", "shared", "--member", "bob", "--read")
	if code != 0 {
		t.Fatalf("collection grant --read: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "gave bob ("+bob.ID+") read on shared ("+coll+")") {
		t.Errorf("collection grant --read printed %q", stdout)
	}
	if rd, wr := access(); !rd || wr {
		t.Errorf("bob after a grant of read: read %v, write %v", rd, wr)
	}
	code, stdout, stderr = runCLI(t, "collection", "grant", "--data", data, "--collection", coll, "--member", bob.ID)
	if code != 0 || !strings.Contains(stdout, "read and write") {
		t.Fatalf("collection grant by ids: exit %d: %s%s", code, stdout, stderr)
	}
	if rd, wr := access(); !rd || !wr {
		t.Errorf("bob after a grant of both: read %v, write %v", rd, wr)
	}

	if code, _, stderr := runCLI(t, "member", "remove", "--data", data, "--member", "carol"); code != 0 {
		t.Fatalf("member remove: %s", stderr)
	}
	before, err := n.Store().Collection(ctx, coll)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--collection", "shared", "--member", "carol"}, "ended for good"},
		{[]string{"--collection", "shared", "--member", "dave"}, "check the names"},
		{[]string{"--collection", "no such", "--member", "bob"}, "check the names"},
		{[]string{"--collection", "shared"}, "needs --collection and --member"},
		{[]string{"--member", "bob"}, "needs --collection and --member"},
		{[]string{"--collection", "shared", "--member", "bob", "extra"}, "no arguments"},
	} {
		code, stdout, stderr := runCLI(t, append([]string{"collection", "grant", "--data", data}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) || stdout != "" {
			t.Errorf("collection grant %v: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.args, code, stdout, stderr, tc.want)
		}
	}
	after, err := n.Store().Collection(ctx, coll)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(after.Readers, ",") != strings.Join(before.Readers, ",") || strings.Join(after.Writers, ",") != strings.Join(before.Writers, ",") {
		t.Errorf("refused grants changed the lists: %v %v, were %v %v", after.Readers, after.Writers, before.Readers, before.Writers)
	}
}
