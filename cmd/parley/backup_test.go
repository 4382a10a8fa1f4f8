package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
	"github.com/parley-exchange/parley/tlog"
	"golang.org/x/mod/sumdb/note"
)

// TestBackupWhileWriting: a backup taken while a member keeps submitting
// holds every object acknowledged before it began; restored, the node's
// log verifies, is consistent with every checkpoint a member saw before the
// backup (the member's own audit, with its seen file, against the
// restored node passes), and the node serves and accepts new objects. A
// restore given a checkpoint the member saw after the backup is refused
// and writes nothing.
func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	tn := startTestNode(t)
	work := filepath.Dir(tn.keyFile)
	dir := filepath.Join(work, "node")
	coll, err := tn.n.AddCollection(ctx, "intel", "", []string{"bench"}, []string{"bench"}, "")
	if err != nil {
		t.Fatal(err)
	}
	client := &taxii.Client{BaseURL: tn.url, Token: tn.member.Token}
	indicator := func(i int) (string, json.RawMessage) {
		id := fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", i)
		o := fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","created_by_ref":%q,"pattern":"[ipv4-addr:value = '198.51.100.%d']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`,
			id, tn.member.ID, i%256)
		s, err := stix.Sign([]byte(o), tn.key)
		if err != nil {
			t.Fatal(err)
		}
		return id, s
	}

	// The writer: one signed indicator per envelope, acknowledged ids in
	// order, until stopped.
	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			id, o := indicator(i)
			st, err := client.AddObjects(ctx, coll, []json.RawMessage{o})
			if err != nil || st.SuccessCount != 1 {
				t.Errorf("submit %d: %v %+v", i, err, st)
				return
			}
			mu.Lock()
			acked = append(acked, id)
			mu.Unlock()
		}
	}()
	ackedCount := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	checkpointSize := func() uint64 {
		_, note, err := tn.n.Store().(interface {
			LatestCheckpoint(context.Context) (int64, []byte, error)
		}).LatestCheckpoint(ctx)
		if err != nil {
			return 0
		}
		text, _ := tlog.SplitNote(note)
		cp, _ := tlog.ParseCheckpoint(text)
		return cp.Size
	}
	seenBefore := filepath.Join(work, "seen-before.json")
	audit := func(url, seen string) (int, string, string) {
		return runCLI(t, "audit", "--url", url, "--token", tn.member.Token, "--seen", seen, "--log-key", tn.n.VerifierKey())
	}
	// The member audits twice while the writer runs: two checkpoints seen.
	for round := range 2 {
		n := ackedCount()
		waitFor("objects and a checkpoint covering them", func() bool { return ackedCount() > n+5 && checkpointSize() > uint64(n) })
		if code, _, stderr := audit(tn.url, seenBefore); code != 0 {
			t.Fatalf("audit %d before the backup: exit %d: %s", round, code, stderr)
		}
	}

	// The backup, while the writer goes on.
	ackedBefore := ackedCount()
	out := filepath.Join(work, "node.backup")
	code, stdout, stderr := runCLI(t, "backup", "--data", dir, "--out", out)
	if code != 0 {
		t.Fatalf("backup: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "secret key") {
		t.Errorf("backup doesn't warn that the file holds the node key: %s", stderr)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	var backupSize int
	if _, err := fmt.Sscanf(stdout[strings.Index(stdout, ": ")+2:], "%d log entries", &backupSize); err != nil {
		t.Fatalf("backup output %q: %v", stdout, err)
	}

	// The member sees a checkpoint newer than the backup, then the writer
	// stops.
	waitFor("a checkpoint beyond the backup", func() bool { return checkpointSize() > uint64(backupSize) })
	seenAfter := filepath.Join(work, "seen-after.json")
	b, err := os.ReadFile(seenBefore)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(seenAfter, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := audit(tn.url, seenAfter); code != 0 {
		t.Fatalf("audit after the backup: exit %d: %s", code, stderr)
	}
	close(stop)
	<-done
	if ackedBefore == 0 || ackedCount() <= ackedBefore {
		t.Fatalf("the writer acknowledged %d objects before the backup and %d in all: it must keep writing across it", ackedBefore, ackedCount())
	}

	t.Logf("%d objects acknowledged before the backup of %d log entries, %d in all", ackedBefore, backupSize, ackedCount())

	// Refusals write nothing: a checkpoint newer than the backup, a
	// non-empty directory.
	refused := filepath.Join(work, "refused")
	code, _, stderr = runCLI(t, "restore", "--data", refused, "--from", out, "--seen", seenAfter)
	if code != 1 || !strings.Contains(stderr, "the log shrank") {
		t.Errorf("restore with a newer seen checkpoint: exit %d, %s; want 1 naming the shrink", code, stderr)
	}
	if ents, _ := os.ReadDir(refused); len(ents) != 0 {
		t.Errorf("a refused restore left %d files in the directory", len(ents))
	}
	// The same with the newer checkpoint alone, as a witness keeps it.
	after, err := tlog.LoadSeen(seenAfter)
	if err != nil {
		t.Fatal(err)
	}
	cpFile := filepath.Join(work, "witnessed.checkpoint")
	if err := os.WriteFile(cpFile, []byte(after.Notes[len(after.Notes)-1]), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(t, "restore", "--data", refused, "--from", out, "--seen", cpFile)
	if code != 1 || !strings.Contains(stderr, "the log shrank") {
		t.Errorf("restore with a newer checkpoint file: exit %d, %s; want 1 naming the shrink", code, stderr)
	}
	code, _, stderr = runCLI(t, "restore", "--data", dir, "--from", out)
	if code != 2 || !strings.Contains(stderr, "not empty") {
		t.Errorf("restore into the live node's directory: exit %d, %s; want 2", code, stderr)
	}

	// The restore, checked against what the member saw before the backup.
	restored := filepath.Join(work, "restored")
	code, stdout, stderr = runCLI(t, "restore", "--data", restored, "--from", out, "--seen", seenBefore)
	if code != 0 || !strings.Contains(stdout, "the log verified") || !strings.Contains(stdout, "consistent with the 2 checkpoint(s)") {
		t.Fatalf("restore: exit %d\n%s%s", code, stdout, stderr)
	}
	// parley audit --seen starts from a file holding one signed
	// checkpoint as restore --seen does (docs/backup.md, "A node on
	// PostgreSQL"): the newer one fails the audit of the restored store,
	// one from before the backup passes, and the file becomes a seen
	// file holding it.
	for _, tc := range []struct {
		name, note string
		code       int
		want       string
	}{
		{"newer", after.Notes[len(after.Notes)-1], 1, "shrank"},
		{"older", firstNote(t, seenBefore), 0, "verified"},
	} {
		f := filepath.Join(work, tc.name+".checkpoint")
		if err := os.WriteFile(f, []byte(tc.note), 0o600); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := runCLI(t, "audit", "--data", restored, "--seen", f, "--log-key", tn.n.VerifierKey())
		if code != tc.code || !strings.Contains(stdout+stderr, tc.want) || !strings.Contains(stderr, "holds a signed checkpoint of size") {
			t.Fatalf("audit --data of the restored store --seen the %s checkpoint alone: exit %d, want %d and %q:\n%s%s", tc.name, code, tc.code, tc.want, stdout, stderr)
		}
		s, err := tlog.LoadSeen(f)
		if err != nil {
			t.Fatalf("the %s checkpoint file after the audit: %v", tc.name, err)
		}
		text, _, _ := strings.Cut(tc.note, "\n\n")
		if !slices.ContainsFunc(s.Notes, func(n string) bool { return strings.HasPrefix(n, text+"\n\n") }) {
			t.Fatalf("the %s checkpoint file after the audit: %q", tc.name, s.Notes)
		}
	}
	// Another log's checkpoint is no starting point: refused, and the
	// file left as it was.
	oskey, _, err := tlog.NewNodeKey(rand.Reader, "other.example")
	if err != nil {
		t.Fatal(err)
	}
	osigner, _ := note.NewSigner(oskey)
	otherCP, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "other.example", Size: 1, Hash: tlog.Hash{1}}, osigner)
	if err != nil {
		t.Fatal(err)
	}
	otherFile := filepath.Join(work, "other.checkpoint")
	os.WriteFile(otherFile, otherCP, 0o600)
	if code, _, stderr := runCLI(t, "audit", "--data", restored, "--seen", otherFile, "--log-key", tn.n.VerifierKey()); code != 2 || !strings.Contains(stderr, "holds a signed checkpoint that isn't this log's") {
		t.Errorf("audit --seen another log's checkpoint: exit %d, want 2:\n%s", code, stderr)
	}
	if b, _ := os.ReadFile(otherFile); !bytes.Equal(b, otherCP) {
		t.Errorf("the refused checkpoint file was changed:\n%s", b)
	}
	// A file that is neither: both say so alike.
	for _, cmd := range [][]string{
		{"restore", "--data", filepath.Join(work, "neither"), "--from", out, "--seen", out},
		{"audit", "--data", restored, "--seen", out, "--log-key", tn.n.VerifierKey()},
	} {
		code, _, stderr := runCLI(t, cmd...)
		if code == 0 || !strings.Contains(stderr, out+" is neither a seen file nor a signed checkpoint") {
			t.Errorf("%s --seen of the backup file: exit %d, %s", cmd[0], code, stderr)
		}
	}
	for _, f := range []string{node.ConfigFile, node.KeyFile, node.PubKeyFile, node.StoreFile} {
		if fi, err := os.Stat(filepath.Join(restored, f)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("restored %s: %v (want mode 0600)", f, err)
		}
	}

	// The restored node serves: everything acknowledged before the backup
	// began is there, the member's audit (with its memory of the
	// checkpoints before the backup) passes, and it takes new objects.
	n2, err := node.Open(ctx, restored, node.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	served := make(chan struct{})
	go func() { n2.Serve(sctx, ln, nil); close(served) }()
	defer func() { cancel(); <-served; n2.Close() }()
	url2 := "http://" + ln.Addr().String()
	c2 := &taxii.Client{BaseURL: url2, Token: tn.member.Token}
	mu.Lock()
	before := acked[:ackedBefore]
	mu.Unlock()
	for _, id := range before {
		env, err := c2.Object(ctx, coll, id, taxii.Query{})
		if err != nil || len(env.Objects) != 1 {
			t.Fatalf("object %s, acknowledged before the backup, in the restored node: %v", id, err)
		}
	}
	_, o := indicator(1 << 30)
	if st, err := c2.AddObjects(ctx, coll, []json.RawMessage{o}); err != nil || st.SuccessCount != 1 {
		t.Fatalf("submit to the restored node: %v %+v", err, st)
	}
	if code, stdout, stderr := audit(url2, seenBefore); code != 0 || !strings.Contains(stdout, "verified") {
		t.Errorf("the member's audit of the restored node: exit %d\n%s%s", code, stdout, stderr)
	}
}

// firstNote returns the first checkpoint note of the seen file at path
// (the smallest: the file is kept in order of size; a key index it
// records isn't one).
func firstNote(t *testing.T, path string) string {
	t.Helper()
	s, err := tlog.LoadSeen(path)
	if err != nil {
		t.Fatalf("seen file %s: %v", path, err)
	}
	for _, n := range s.Notes {
		if text, err := tlog.SplitNote([]byte(n)); err == nil {
			if _, err := tlog.ParseCheckpoint(text); err == nil {
				return n
			}
		}
	}
	t.Fatalf("seen file %s holds no checkpoint", path)
	return ""
}
