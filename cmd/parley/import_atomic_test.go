package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/taxii"
)

// storedVersions counts every object version in a collection.
func storedVersions(t *testing.T, tn *testNode, coll string) int {
	t.Helper()
	client := &taxii.Client{BaseURL: tn.url, Token: tn.member.Token}
	n := 0
	for env, err := range client.ObjectPages(context.Background(), coll, taxii.Query{Versions: taxii.VersionMatch{All: true}}) {
		if err != nil {
			t.Fatal(err)
		}
		n += len(env.Objects)
	}
	return n
}

// TestImportLinesBadInputPushesNothing feeds import iocs and import csv a
// file whose record well past the first envelope (1,000 objects) is
// malformed: the command exits 2 naming the line, and the node holds
// nothing from it (not the envelopes before the bad line). The fixed file
// then imports whole, once. Without the check before pushing, the first
// 1,000 indicators were stored under an exit status that says "bad
// input", and the re-run without --created stored each again as a new
// version.
func TestImportLinesBadInputPushesNothing(t *testing.T) {
	const good = 1500 // good lines; the bad one is line 1201
	lines := func(bad bool, format string, badLine string) string {
		var b strings.Builder
		for i := range good {
			if bad && i == 1200 {
				b.WriteString(badLine + "\n")
			}
			fmt.Fprintf(&b, format+"\n", i/256, i%256)
		}
		return b.String()
	}
	for _, tc := range []struct {
		name, kind string
		args       []string
		stdin      bool
		badLine    string
		format     string
		stderr     string
	}{
		{"iocs line too long", "iocs", nil, false, strings.Repeat("x", 2<<20), "10.%d.%d.1", "line 1201 is longer than 1 MiB"},
		{"iocs from stdin", "iocs", nil, true, strings.Repeat("x", 2<<20), "10.%d.%d.1", "line 1201 is longer than 1 MiB"},
		{"csv fields", "csv", []string{"--columns", "value,type"}, false, "198.51.100.1", "10.%d.%d.1,ip-dst", "line 1201 has 1 fields, want 2"},
		{"csv quoting", "csv", []string{"--columns", "value,type"}, false, `"198.51.100.1,ip-dst`, "10.%d.%d.1,ip-dst", "line 1201"},
		{"csv from stdin", "csv", []string{"--columns", "value,type"}, true, "198.51.100.1", "10.%d.%d.1,ip-dst", "line 1201 has 1 fields, want 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tn := startTestNode(t)
			coll, err := tn.n.AddCollection(context.Background(), "intel", "", []string{"bench"}, []string{"bench"}, "")
			if err != nil {
				t.Fatal(err)
			}
			src := filepath.Join(t.TempDir(), "list")
			run := func(content string) (int, string, string) {
				args := append([]string{"import", tc.kind, "--url", tn.url, "--token-file", tn.tokenFile, "--key", tn.keyFile, "--collection", coll}, tc.args...)
				if tc.stdin {
					return runCLIWithStdin(t, []byte(content), append(args, "-")...)
				}
				if err := os.WriteFile(src, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
				return runCLI(t, append(args, src)...)
			}
			code, stdout, stderr := run(lines(true, tc.format, tc.badLine))
			if code != 2 || !strings.Contains(stderr, tc.stderr) {
				t.Fatalf("bad input: exit %d, stderr:\n%.2000s\nwant exit 2 and %q", code, stderr, tc.stderr)
			}
			if n := storedVersions(t, tn, coll); n != 0 {
				t.Fatalf("the node stored %d objects of a file refused as bad input\nstdout:\n%s", n, stdout)
			}
			code, stdout, stderr = run(lines(false, tc.format, ""))
			if code != 0 || !strings.Contains(stdout, fmt.Sprintf("pushed %d objects: %d stored (0 already there)", good, good)) {
				t.Fatalf("fixed input: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			if n := storedVersions(t, tn, coll); n != good {
				t.Errorf("after the fixed run the node holds %d object versions, want %d", n, good)
			}
		})
	}
}
