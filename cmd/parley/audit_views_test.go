package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/tlog"
	"github.com/parley-exchange/parley/witness"
)

// witnessPolicy implements the script command
// `witnesspolicy FILE QUORUM NAME URL_FILE VKEY_FILE [NAME URL_FILE VKEY_FILE]...`:
// it writes a C2SP tlog-policy file with a "witness NAME VKEY URL" line
// for each witness (from its witness serve --url-file and its verifier key
// file) and the quorum line "quorum QUORUM", preceded by
// "group all-of all NAME..." when QUORUM is "all-of" and
// "group any-of any NAME..." when it is "any-of".
func witnessPolicy(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 5 || (len(args)-2)%3 != 0 {
		ts.Fatalf("usage: witnesspolicy FILE QUORUM NAME URL_FILE VKEY_FILE...")
	}
	var b strings.Builder
	var names []string
	for i := 2; i < len(args); i += 3 {
		name := args[i]
		names = append(names, name)
		fmt.Fprintf(&b, "witness %s %s %s\n", name, strings.TrimSpace(ts.ReadFile(args[i+2])), strings.TrimSpace(ts.ReadFile(args[i+1])))
	}
	switch q := args[1]; q {
	case "all-of", "any-of":
		fmt.Fprintf(&b, "group %s %s %s\n", q, strings.TrimSuffix(q, "-of"), strings.Join(names, " "))
	}
	fmt.Fprintf(&b, "quorum %s\n", args[1])
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(b.String()), 0o600))
}

// A policy witness that answers monitor retrieval with 404 ("never
// cosigned", C2SP tlog-witness) although the node's checkpoint carries its
// valid cosignature doesn't serve monitor retrieval there (litewitness has
// none): the note says so instead of "no checkpoint of the log yet", which
// stays the note of a witness that hasn't cosigned.
func TestAuditWitness404ThoughCosigned(t *testing.T) {
	none := httptest.NewServer(http.NotFoundHandler())
	defer none.Close()
	vkey, signer, v, plain := smallSignedLog(t)
	var pol strings.Builder
	var cosigner note.Signer
	for _, name := range []string{"a.example/w", "b.example/w"} {
		wskey, wkey, err := tlog.NewCosignerKey(rand.Reader, name)
		if err != nil {
			t.Fatal(err)
		}
		if cosigner == nil {
			if cosigner, err = tlog.ParseCosignerKey(wskey, nil); err != nil {
				t.Fatal(err)
			}
		}
		pol.WriteString("witness " + name + " " + wkey + " " + none.URL + "\n")
	}
	pol.WriteString("group g any a.example/w b.example/w\nquorum g\n")
	p, err := tlog.ParsePolicy([]byte(pol.String()))
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(plain, note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	cosigned, err := note.Sign(n, signer, cosigner)
	if err != nil {
		t.Fatal(err)
	}
	views := checkWitnessViews(context.Background(), &cli{}, p, vkey, v, cosigned, nil)
	if len(views) != 2 {
		t.Fatalf("views %+v", views)
	}
	if want := "witness a.example/w answered 404 for its checkpoint of log log.example/a though it cosigned the node's: it serves no monitor retrieval at that URL (not checked)"; views[0].note != want {
		t.Errorf("the witness that cosigned: note %q, want %q", views[0].note, want)
	}
	if want := "witness b.example/w has cosigned no checkpoint of log log.example/a (it answered 404): it doesn't witness this log (or no longer does), or hasn't cosigned one yet (not checked)"; views[1].note != want {
		t.Errorf("the witness that didn't: note %q, want %q", views[1].note, want)
	}
	if views[0].problem != "" || views[1].problem != "" {
		t.Errorf("a 404 is not a failure: %+v", views)
	}
}

// TestAuditWitnessNotWitnessing: a Parley witness answers monitor
// retrieval for a log it doesn't witness (never did, or dropped from its
// --log list) with 404 "unknown log", and the audit says that it doesn't,
// or no longer does, witness the log, where it said "has no checkpoint of
// the log yet" (or, for one whose cosignature the node's checkpoint
// carries, that it serves no monitor retrieval); a witness that can't be
// reached is still a network note. None fails the audit by itself; when
// the policy's quorum can't be met without that witness, the note says so
// too (the missing quorum fails the audit as before).
func TestAuditWitnessNotWitnessing(t *testing.T) {
	ctx := context.Background()
	vkey, _, v, plain := smallSignedLog(t)
	_, otherKey, err := tlog.NewNodeKey(rand.Reader, "log.example/other")
	if err != nil {
		t.Fatal(err)
	}
	// serve runs a witness of logs from dir; each may first cosign the
	// checkpoint with a witness of log.example/a on the same state.
	serve := func(name, dir string, cosign bool, logs ...string) (url, wkey string, line []byte) {
		wskey, wkey, err := tlog.NewCosignerKey(rand.Reader, name)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := tlog.ParseCosignerKey(wskey, nil)
		if err != nil {
			t.Fatal(err)
		}
		if cosign {
			w, err := witness.Open(witness.Config{Dir: dir, Cosigner: cs, Logs: []string{vkey}})
			if err != nil {
				t.Fatal(err)
			}
			if line, err = w.AddCheckpoint(ctx, 0, nil, plain); err != nil {
				t.Fatal(err)
			}
			w.Close()
		}
		w, err := witness.Open(witness.Config{Dir: dir, Cosigner: cs, Logs: logs})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.Close() })
		srv := httptest.NewServer(w.Handler())
		t.Cleanup(srv.Close)
		return srv.URL, wkey, line
	}
	// w1 witnessed the log and cosigned its checkpoint, then the log was
	// dropped from its list; w2 never witnessed it; w3 is down.
	u1, k1, line := serve("w1.example/w", t.TempDir(), true, otherKey)
	u2, k2, _ := serve("w2.example/w", t.TempDir(), false, otherKey)
	down := httptest.NewServer(http.NotFoundHandler())
	u3 := down.URL
	down.Close()
	_, k3, err := tlog.NewCosignerKey(rand.Reader, "w3.example/w")
	if err != nil {
		t.Fatal(err)
	}
	cosigned := append(append([]byte{}, plain...), line...)
	witnesses := fmt.Sprintf("witness w1.example/w %s %s\nwitness w2.example/w %s %s\nwitness w3.example/w %s %s\n", k1, u1, k2, u2, k3, u3)
	for _, tc := range []struct {
		quorum string
		needs  bool
	}{
		{"group g any w1.example/w w2.example/w w3.example/w\nquorum g\n", false},
		{"group g all w1.example/w w2.example/w w3.example/w\nquorum g\n", true},
	} {
		p, err := tlog.ParsePolicy([]byte(witnesses + tc.quorum))
		if err != nil {
			t.Fatal(err)
		}
		views := checkWitnessViews(ctx, &cli{}, p, vkey, v, cosigned, nil)
		if len(views) != 3 {
			t.Fatalf("views %+v", views)
		}
		needed := ""
		if tc.needs {
			needed = "; the policy's quorum can't be met without it"
		}
		for i, want := range []string{
			"witness w1.example/w no longer witnesses log log.example/a: it answered 404 (unknown log) for its checkpoint, though it cosigned the node's (not checked)" + needed,
			"witness w2.example/w doesn't witness log log.example/a (it never did, or no longer does): it answered 404 (unknown log) for its checkpoint (not checked)" + needed,
		} {
			if views[i].note != want {
				t.Errorf("quorum %q: note %q, want %q", tc.quorum, views[i].note, want)
			}
		}
		if n := views[2].note; !strings.HasPrefix(n, "couldn't read witness w3.example/w's checkpoint (not checked): couldn't reach the witness") {
			t.Errorf("the witness that is down: note %q", n)
		}
		for _, wv := range views {
			if wv.problem != "" {
				t.Errorf("a 404 or a witness down is not a failure: %+v", wv)
			}
		}
	}
}

// TestAuditKeepsWitnessCheckpoints: the checkpoint a policy witness serves
// (monitor retrieval) that is of one history with the node's goes into
// the seen file, so its cosignature's time bounds, at the next audit, the
// received time of the entries its tree doesn't hold. A node never shows
// the cosignatures of a witness that pulls its log, and the witness
// serves only its latest, so without this a node that appended an entry
// later, back-dated to before the witness saw the tree without it, passed
// every audit (found by h/witfed against a node whose store stamps times
// 40 s early). Here the witness's clock is ten minutes ahead, which is the
// same to the audit as an entry received ten minutes before the witness
// saw the tree without it.
func TestAuditKeepsWitnessCheckpoints(t *testing.T) {
	base, token, dir, vkey, v, cl := auditedDemo(t)
	plain, cp := waitLogSize(t, cl, v, 1)
	cosigned, wvkey := cosignedLate(t, plain, v)
	// The witness pulled the node's log and cosigned this tree; it serves
	// it whatever the node does next.
	w := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/"+fmt.Sprintf("%x", sha256.Sum256([]byte(cp.Origin)))+"/checkpoint" {
			http.NotFound(rw, r)
			return
		}
		rw.Write(cosigned)
	}))
	defer w.Close()
	pol := filepath.Join(t.TempDir(), "policy")
	if err := os.WriteFile(pol, []byte("log "+vkey+"\nwitness late "+wvkey+" "+w.URL+"\nquorum none\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	seen := filepath.Join(t.TempDir(), "seen")
	audit := func() (int, string) {
		code, _, stderr := runCLI(t, "audit", "--url", base, "--token", token, "--log-key", vkey, "--seen", seen, "--witness-policy", pol)
		return code, stderr
	}
	if code, stderr := audit(); code != 0 {
		t.Fatalf("first audit: exit %d\n%s", code, stderr)
	}
	// The node appends an entry: received now, ten minutes before the
	// witness (by its clock) saw the tree without it.
	if code, _, stderr := runCLI(t, "member", "add", "--data", dir, "--name", "latecomer"); code != 0 {
		t.Fatalf("member add: exit %d\n%s", code, stderr)
	}
	waitLogSize(t, cl, v, cp.Size+1)
	code, stderr := audit()
	if code != 1 || !strings.Contains(stderr, "earlier than witness late cosigned") || !strings.Contains(stderr, "back-dated") {
		t.Fatalf("second audit: exit %d, want 1 naming the back-dated entry\n%s", code, stderr)
	}
}

// TestWriteEvidenceOncePerFork: the audit writes one evidence file per
// fork, however many witnesses hold the same checkpoint with their own
// cosignature; another fork makes another file.
func TestWriteEvidenceOncePerFork(t *testing.T) {
	skey, vkey, err := tlog.NewNodeKey(rand.Reader, "log.example/a")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := tlog.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(root string, cosigners ...note.Signer) []byte {
		t.Helper()
		plain, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "log.example/a", Size: 3, Hash: tlog.LeafHash([]byte(root))}, signer)
		if err != nil {
			t.Fatal(err)
		}
		n, err := note.Open(plain, note.VerifierList(v))
		if err != nil {
			t.Fatal(err)
		}
		out, err := note.Sign(n, cosigners...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	var ws []note.Signer
	for _, name := range []string{"w1.example", "w2.example"} {
		wskey, _, err := tlog.NewCosignerKey(rand.Reader, name)
		if err != nil {
			t.Fatal(err)
		}
		w, err := tlog.ParseCosignerKey(wskey, nil)
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	node := sign("node")
	seen := filepath.Join(t.TempDir(), "seen")
	write := func(a, b []byte) string {
		t.Helper()
		ev, err := tlog.NewEvidence(vkey, a, b, tlog.Hash{}, nil, "", "")
		if err != nil {
			t.Fatal(err)
		}
		path, err := writeEvidence(seen, ev, "test", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return path
	}
	first := write(sign("witnessed", ws[0]), node)
	for i, other := range [][]byte{sign("witnessed", ws[1]), sign("witnessed"), sign("witnessed", ws[0], ws[1])} {
		if got := write(node, other); got != first {
			t.Errorf("the same fork, seen %d: written to %s, not only %s", i+2, got, first)
		}
	}
	if got := write(sign("another", ws[0]), node); got == first {
		t.Errorf("another fork went to the first one's file")
	}
	files, _ := filepath.Glob(seen + ".evidence-*.json")
	if len(files) != 2 {
		t.Errorf("%d evidence files for two forks: %v", len(files), files)
	}
}

// noTiles is a node that serves no tile: one restored from an older
// backup has none of the larger tree a member saw before.
type noTiles struct{}

func (noTiles) ReadTile(context.Context, tlog.Tile) ([]byte, error) {
	return nil, fmt.Errorf("the node refused the request: 404 Not Found")
}

// TestAuditShrinkWithoutQuorum: a node restored from an older backup
// serves a smaller checkpoint, which its witnesses (holding the larger
// one) refuse to cosign. Without a policy the audit says "the log
// shrank" and keeps both checkpoints; with --witness-policy it failed on
// the missing quorum only, naming neither the shrink nor keeping the
// checkpoint that proves it (found by h/fedchaos restoring a PostgreSQL
// node's dump taken 3,000 entries earlier).
func TestAuditShrinkWithoutQuorum(t *testing.T) {
	ctx := context.Background()
	skey, vkey, err := tlog.NewNodeKey(rand.Reader, "log.example/b")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := tlog.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(size uint64, leaf string) []byte {
		n, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "log.example/b", Size: size, Hash: tlog.LeafHash([]byte(leaf))}, signer)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	seenPath := filepath.Join(t.TempDir(), "seen.json")
	seen, err := tlog.LoadSeen(seenPath)
	if err != nil {
		t.Fatal(err)
	}
	before := sign(4908, "before")
	seen.Add(before)
	now := sign(840, "now")
	var stderr strings.Builder
	forked, shrank, err := reportSeenViews(ctx, &cli{stderr: &stderr}, vkey, v, now, seen, noTiles{}, seenPath, "test")
	if err != nil || forked || !shrank {
		t.Fatalf("reportSeenViews: forked %v, shrank %v, %v; want a shrink", forked, shrank, err)
	}
	if want := "the log shrank: a checkpoint of size 4908 was seen before, the latest has size 840"; !strings.Contains(stderr.String(), want) {
		t.Fatalf("stderr %q doesn't say %q", stderr.String(), want)
	}
	if err := seen.Save(); err != nil {
		t.Fatal(err)
	}
	kept, err := tlog.LoadSeen(seenPath)
	if err != nil {
		t.Fatal(err)
	}
	has := func(n []byte) bool {
		for _, s := range kept.Notes {
			if s == string(n) {
				return true
			}
		}
		return false
	}
	if !has(before) || !has(now) {
		t.Fatalf("the seen file doesn't keep both checkpoints of the shrink: %d notes", len(kept.Notes))
	}
	// A smaller seen checkpoint is no shrink.
	stderr.Reset()
	fresh, _ := tlog.LoadSeen(filepath.Join(t.TempDir(), "seen.json"))
	fresh.Add(sign(10, "earlier"))
	if _, shrank, _ := reportSeenViews(ctx, &cli{stderr: &stderr}, vkey, v, now, fresh, noTiles{}, seenPath, "test"); shrank {
		t.Fatalf("a smaller seen checkpoint is reported as a shrink: %s", stderr.String())
	}
}

// auditedDemo serves the demo's data (demoNode) and returns what the
// audit tests of witnesses' views use: its URL, the first member's token,
// the data directory, the log's verifier key (as text and parsed) and a
// log client of that member.
func auditedDemo(t *testing.T) (base, token, dir, vkey string, v note.Verifier, cl *tlog.Client) {
	t.Helper()
	base, st, dir := demoNode(t)
	token = st.Members[0].Token
	vkey = nodeLogKey(t, dir)
	var err error
	if v, err = tlog.NewVerifier(vkey); err != nil {
		t.Fatal(err)
	}
	return base, token, dir, vkey, v, &tlog.Client{URL: base, Token: token}
}

// waitLogSize returns the node's checkpoint once it has at least size
// entries (it integrates in the background), failing the test after 30 s.
func waitLogSize(t *testing.T, cl *tlog.Client, v note.Verifier, size uint64) ([]byte, tlog.Checkpoint) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := cl.Checkpoint(context.Background())
		if err == nil {
			if cp, err := tlog.OpenCheckpoint(n, v); err == nil && cp.Size >= size {
				return n, cp
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the node has no checkpoint of size %d: %v", size, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cosignedLate returns plain (a checkpoint note signed by the log's key
// v) cosigned by a new witness late.example/w whose clock runs ten
// minutes ahead, and that witness's verifier key.
func cosignedLate(t *testing.T, plain []byte, v note.Verifier) (cosigned []byte, wvkey string) {
	t.Helper()
	wskey, wvkey, err := tlog.NewCosignerKey(rand.Reader, "late.example/w")
	if err != nil {
		t.Fatal(err)
	}
	late, err := tlog.ParseCosignerKey(wskey, func() time.Time { return time.Now().Add(10 * time.Minute) })
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(plain, note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	if cosigned, err = note.Sign(n, late); err != nil {
		t.Fatal(err)
	}
	return cosigned, wvkey
}

// smallSignedLog makes a log key for origin log.example/a and its signed
// checkpoint of one leaf: what the witness-view tests show witnesses.
func smallSignedLog(t *testing.T) (vkey string, signer note.Signer, v note.Verifier, checkpoint []byte) {
	t.Helper()
	skey, vkey, err := tlog.NewNodeKey(rand.Reader, "log.example/a")
	if err != nil {
		t.Fatal(err)
	}
	if signer, err = note.NewSigner(skey); err != nil {
		t.Fatal(err)
	}
	if v, err = tlog.NewVerifier(vkey); err != nil {
		t.Fatal(err)
	}
	checkpoint, err = tlog.SignCheckpoint(tlog.Checkpoint{Origin: "log.example/a", Size: 1, Hash: tlog.LeafHash([]byte("x"))}, signer)
	if err != nil {
		t.Fatal(err)
	}
	return vkey, signer, v, checkpoint
}
