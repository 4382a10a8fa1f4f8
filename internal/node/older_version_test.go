package node

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// TestOpenNodeOfOlderVersion opens a data directory made by the version
// of 2 December 2026 (main at 6a4fc68: migrations up to 720 without 4,
// 202, 302, 314–316, 501, 502, 503; testdata/node-20261202/SOURCE.md says how
// it was made) and checks that the upgrade loses nothing acknowledged:
// every object is still served, the log audits with a member's seen file
// from the old version (no false fork), and a proof bundle the old node
// issued still verifies.
func TestOpenNodeOfOlderVersion(t *testing.T) {
	onlySQLite(t)
	ctx := context.Background()
	src := filepath.Join("testdata", "node-20261202")
	dir := filepath.Join(t.TempDir(), "node")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{ConfigFile, KeyFile, PubKeyFile} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	gz, err := os.ReadFile(filepath.Join(src, "parley.db.gz"))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	var db bytes.Buffer
	if _, err := db.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, StoreFile), db.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	n, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatalf("Open of the 2 December data directory: %v", err)
	}
	// Every object version the old node served in collection intel (its
	// latest versions, as "parley pull" printed them), and no other.
	want, err := os.ReadFile(filepath.Join(src, "intel.txt"))
	if err != nil {
		t.Fatal(err)
	}
	colls, err := n.store.Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var intel string
	for _, c := range colls {
		if c.Title == "intel" {
			intel = c.ID
		}
	}
	var got []string
	q := store.Query{Collection: intel, Versions: []store.VersionSelector{{Kind: store.VersionLast}}, Limit: 100}
	for {
		p, err := n.store.Objects(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range p.Objects {
			line := o.ID + " " + o.Version.UTC().Format("2006-01-02T15:04:05.000Z")
			if bytes.Contains(o.Raw, []byte(`"revoked":true`)) {
				line += " revoked"
			}
			got = append(got, line)
			q.After = o.Seq
		}
		if !p.More {
			break
		}
	}
	sort.Strings(got)
	if g, w := strings.Join(got, "\n"), strings.TrimSpace(string(want)); g != w {
		t.Errorf("collection intel after the upgrade:\n%s\nwant (served before it):\n%s", g, w)
	}
	// The feed, its position read back with the columns added since
	// (migrations 502, 503) at their zero values.
	fs, err := n.FeedStore().Feeds(ctx)
	if err != nil || len(fs) != 1 || fs[0].URL == "" || !fs[0].FullRead.IsZero() || !fs[0].ReadTo.IsZero() || fs[0].Reread != 0 {
		t.Errorf("feeds after the upgrade: %+v, %v", fs, err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	// The log, audited from the store with a member's seen file of the
	// old version.
	vkey := strings.TrimSpace(readFile(t, filepath.Join(src, PubKeyFile)))
	v, err := tlog.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	seenPath := filepath.Join(t.TempDir(), "seen.json")
	if err := os.WriteFile(seenPath, []byte(readFile(t, filepath.Join(src, "seen.json"))), 0o600); err != nil {
		t.Fatal(err)
	}
	seen, err := tlog.LoadSeen(seenPath)
	if err != nil {
		t.Fatal(err)
	}
	as, _, closeStore, err := OpenStoreAudit(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	rep, err := tlog.Audit(ctx, as, tlog.AuditOptions{Verifier: v, Seen: seen, AllObjects: true, Tiles: as})
	if err != nil {
		t.Fatalf("audit after the upgrade: %v", err)
	}
	if len(rep.Problems) > 0 || rep.Fork != nil || rep.Entries != 28 || rep.Objects != 22 {
		t.Errorf("audit after the upgrade: %d entries, %d objects, problems %v, fork %v; want 28 entries, 22 objects, none", rep.Entries, rep.Objects, rep.Problems, rep.Fork)
	}

	// A proof bundle the old node issued.
	if _, err := tlog.VerifyBundle([]byte(readFile(t, filepath.Join(src, "proof.json"))), vkey); err != nil {
		t.Errorf("a proof bundle of the 2 December version: %v", err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
