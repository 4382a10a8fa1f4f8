package main

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-exchange/parley/tlog"
	"github.com/parley-exchange/parley/witness"
)

// TestPrivateCheckAfterRestoreOfWithdrawnSet: a node restored from a
// backup older than a set's withdrawal (restored without its readers'
// seen files, so the restore isn't refused) serves the set as live again.
// A reader who never kept the withdrawal's receipt, but whose seen file
// holds a checkpoint of the log with the withdrawal entry, sends it no
// value: the restored log can't be the one the reader saw.
func TestPrivateCheckAfterRestoreOfWithdrawnSet(t *testing.T) {
	base, st, dir := demoNode(t)
	a, b := st.Members[0], st.Members[1]
	work := t.TempDir()
	set := publishPrivateSet(t, base, a.Token, st.Collections.Shared, "domain-name:restored-set.example\n")
	seen := filepath.Join(work, "seen.json")
	check := func(u string) (int, string, string) {
		return runCLIWithStdin(t, []byte("domain-name:restored-set.example\n"), "private", "check", "--url", u, "--token", b.Token, "--set", set, "--seen", seen, "--receipts", filepath.Join(work, "receipts"))
	}
	if code, stdout, stderr := check(base); code != 0 || stdout != "domain-name:restored-set.example\n" {
		t.Fatalf("check: exit %d: %q %s", code, stdout, stderr)
	}
	// A second reader's memory of the log from before the withdrawal
	// (the same checks, its seen file copied now).
	seenBefore := filepath.Join(work, "seen-before.json")
	if b, err := os.ReadFile(seen); err != nil {
		t.Fatal(err)
	} else if err := os.WriteFile(seenBefore, b, 0o600); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(work, "node.backup")
	if code, _, stderr := runCLI(t, "backup", "--data", dir, "--out", backup); code != 0 {
		t.Fatalf("backup: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "private", "withdraw", "--url", base, "--token", a.Token, "--set", set); code != 0 {
		t.Fatalf("withdraw: exit %d: %s", code, stderr)
	}
	// The reader audits the log once the withdrawal entry is in a
	// checkpoint (its seen file keeps that checkpoint), and keeps no
	// receipt of the withdrawal.
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, stdout, stderr := runCLI(t, "private", "receipt", "--url", base, "--token", b.Token, "--set", set, "--seen", seen, "--receipts", filepath.Join(work, "elsewhere"))
		if code == 0 && strings.Contains(stdout, "withdrawn") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the withdrawal's receipt: exit %d: %s", code, stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := os.RemoveAll(filepath.Join(work, "elsewhere")); err != nil {
		t.Fatal(err)
	}
	// A witness of the log: its latest checkpoint (monitor retrieval)
	// holds the withdrawal entry, as the node's latest does now.
	latest, err := (&tlog.Client{URL: base, Token: b.Token}).Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	text, err := tlog.SplitNote(latest)
	if err != nil {
		t.Fatal(err)
	}
	lcp, err := tlog.ParseCheckpoint(text)
	if err != nil {
		t.Fatal(err)
	}
	wsrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/"+witness.OriginHash(lcp.Origin)+"/checkpoint" {
			http.NotFound(w, r)
			return
		}
		w.Write(latest)
	}))
	defer wsrv.Close()
	_, wkey, err := tlog.NewCosignerKey(rand.Reader, "witness.example/w")
	if err != nil {
		t.Fatal(err)
	}
	// The policy names the witness for its view alone ("quorum none"):
	// the node's checkpoints carry no cosignature of this stand-in, and
	// a quorum would refuse the restored node for that (exit 1) before
	// its log is compared.
	policy := filepath.Join(work, "policy.txt")
	if err := os.WriteFile(policy, []byte("witness witness.example/w "+wkey+" "+wsrv.URL+"\nquorum none\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	restored := filepath.Join(work, "restored")
	if code, _, stderr := runCLI(t, "restore", "--data", restored, "--from", backup); code != 0 {
		t.Fatalf("restore: exit %d: %s", code, stderr)
	}
	rbase := serveData(t, restored)
	target, _ := url.Parse(rbase)
	forward := httputil.NewSingleHostReverseProxy(target)
	var evaluations atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/evaluate") {
			evaluations.Add(1)
		}
		forward.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	code, stdout, stderr := check(proxy.URL)
	if n := evaluations.Load(); n != 0 || code != 4 || stdout != "" || !strings.Contains(stderr, "the log went back") || !strings.Contains(stderr, "nothing was sent") {
		t.Fatalf("check sent %d evaluation(s) to a restored node that revived a withdrawn set: exit %d: %q %s", n, code, stdout, stderr)
	}
	// The second reader saw nothing of the log since before the
	// withdrawal; its witness policy's witness did: nothing is sent
	// either, the witness's checkpoint named.
	code, stdout, stderr = runCLIWithStdin(t, []byte("domain-name:restored-set.example\n"), "private", "check", "--url", proxy.URL, "--token", b.Token, "--set", set, "--seen", seenBefore, "--receipts", filepath.Join(work, "receipts2"), "--witness-policy", policy)
	if n := evaluations.Load(); n != 0 || code != 4 || stdout != "" || !strings.Contains(stderr, "the log went back") || !strings.Contains(stderr, "witness witness.example/w's latest checkpoint") {
		t.Fatalf("check with a witness policy sent %d evaluation(s) to a restored node that revived a withdrawn set: exit %d: %q %s", n, code, stdout, stderr)
	}
	// private receipt says the same, rather than showing the set live.
	code, stdout, stderr = runCLI(t, "private", "receipt", "--url", proxy.URL, "--token", b.Token, "--set", set, "--seen", seen, "--receipts", filepath.Join(work, "receipts"))
	if code != 4 || strings.Contains(stdout, "key entry") || !strings.Contains(stderr, "the log went back") {
		t.Fatalf("receipt from the restored node: exit %d: %q %s", code, stdout, stderr)
	}
}
