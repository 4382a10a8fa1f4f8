package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/tlog"
)

// keyIndexProxy forwards to target and lets edit rewrite the JSON object
// answered to GET path (its fields as raw JSON): a node that serves a
// false key index, or none.
func keyIndexProxy(t *testing.T, target, path string, edit func(doc map[string]json.RawMessage)) string {
	t.Helper()
	u, _ := url.Parse(target)
	p := httputil.NewSingleHostReverseProxy(u)
	p.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.URL.Path != path || resp.StatusCode != http.StatusOK {
			return nil
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(b, &doc); err != nil {
			return err
		}
		edit(doc)
		if b, err = json.Marshal(doc); err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv.URL
}

var evidencePath = regexp.MustCompile(`false key index evidence written to (\S+) \(`)

// TestAuditChecksKeyIndexes: parley audit checks the key index the node
// serves (GET /log/keys) and those of saved bundles (--bundle) against
// its replay of the whole log, over HTTP and of the store. A false index
// (a member rotation, a key revocation or a member revocation left out,
// an object entry listed as a key entry, a member left out of the index
// of every member) fails the audit with exit 1, and the evidence it
// writes proves it to parley verify --log-key, which refuses a tampered
// copy. The true indexes pass.
func TestAuditChecksKeyIndexes(t *testing.T) {
	dir, st := demoData(t)
	aur, bor := st.Members[0], st.Members[1]
	ctx, cancel := context.WithCancel(context.Background())
	n, err := node.Open(ctx, dir, node.Options{})
	if err != nil {
		t.Fatal(err)
	}
	newPub, _, _ := ed25519.GenerateKey(rand.Reader)
	carolPub, _, _ := ed25519.GenerateKey(rand.Reader)
	carol, err := n.AddMember(ctx, "carol", carolPub)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.RotateKey(ctx, aur.ID, newPub, nil); err != nil {
		t.Fatal(err)
	}
	if err := n.RevokeKey(ctx, bor.ID); err != nil {
		t.Fatal(err)
	}
	if err := n.RevokeMember(ctx, carol.ID); err != nil {
		t.Fatal(err)
	}
	base := serveIntegrated(t, ctx, cancel, n)
	vkey := nodeLogKey(t, dir)
	v, err := tlog.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	cl := &tlog.Client{URL: base, Token: aur.Token}
	keys, err := cl.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := keys.VerifyComplete(v); err != nil {
		t.Fatal(err)
	}
	trueIndex, err := tlog.OpenKeyIndex([]byte(keys.KeyIndex), v)
	if err != nil {
		t.Fatal(err)
	}
	// Each member's last key entry is the event made above.
	event := map[uint64]string{}
	for _, e := range keys.Events {
		pe, err := tlog.ParseEntry(e.Entry)
		if err != nil {
			t.Fatal(err)
		}
		event[e.LogIndex] = pe.Event
	}
	last := func(id string) uint64 {
		l := trueIndex.Members[id]
		return l[len(l)-1]
	}
	for id, want := range map[string]string{aur.ID: tlog.EventRotate, bor.ID: tlog.EventRevokeKey, carol.ID: tlog.EventRevokeMember} {
		if got := event[last(id)]; got != want {
			t.Fatalf("the last key entry of %s is a %q entry, want %q", id, got, want)
		}
	}
	signer := nodeSigner(t, dir)
	if !trueIndex.Complete {
		t.Fatalf("GET /log/keys answered with an index that doesn't claim every member:\n%s", keys.KeyIndex)
	}
	// Asked for one member, the node signs an index of some members:
	// never one that claims the others have no key entry.
	if one, err := cl.Keys(ctx, aur.ID); err != nil {
		t.Fatal(err)
	} else if k, err := tlog.OpenKeyIndex([]byte(one.KeyIndex), v); err != nil || k.Complete || len(k.Members) != 1 {
		t.Fatalf("GET /log/keys?member=: %+v, %v; want an index of that member alone", k, err)
	}
	forgeAs := func(complete bool, edit func(m map[string][]uint64)) string {
		k := tlog.KeyIndex{Origin: trueIndex.Origin, Size: trueIndex.Size, Hash: trueIndex.Hash, Members: map[string][]uint64{}, Complete: complete}
		for id, l := range trueIndex.Members {
			k.Members[id] = slices.Clone(l)
		}
		edit(k.Members)
		s, err := tlog.SignKeyIndex(k, signer)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	forge := func(edit func(m map[string][]uint64)) string { return forgeAs(false, edit) }
	leaveOut := func(id string) string {
		return forge(func(m map[string][]uint64) { m[id] = m[id][:len(m[id])-1] })
	}
	// An entry that is no key entry: an object's.
	var objectEntry uint64
	for i := uint64(0); i < trueIndex.Size; i++ {
		if _, isKey := event[i]; !isKey {
			objectEntry = i
			break
		}
	}
	work := t.TempDir()
	// saved writes a bundle as a node would have sent it, with key index
	// idx of the /log/keys tree.
	saved := func(name, idx string) string {
		b := tlog.Bundle{Type: tlog.BundleType, LogKey: vkey, Checkpoint: keys.Checkpoint, Keys: keys.Events, KeyIndex: idx, Items: []tlog.BundleItem{}}
		out, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(work, name)
		if err := os.WriteFile(p, out, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	audit := func(seen string, args ...string) (int, string, string) {
		return runCLI(t, append([]string{"audit", "--log-key", vkey, "--seen", filepath.Join(work, seen)}, args...)...)
	}
	byURL := func(u string) []string { return []string{"--url", u, "--token", aur.Token} }
	// checkEvidence: the audit failed naming the false index, and its
	// evidence proves what want says to verify --log-key, and a tampered
	// copy proves nothing.
	checkEvidence := func(code int, stderr, want string) {
		t.Helper()
		if code != 1 || !strings.Contains(stderr, "false key index") {
			t.Fatalf("audit: exit %d, want 1 naming the false key index:\n%s", code, stderr)
		}
		m := evidencePath.FindStringSubmatch(stderr)
		if m == nil {
			t.Fatalf("no evidence written:\n%s", stderr)
		}
		code, out, errOut := runCLI(t, "verify", "--log-key", vkey, m[1])
		if code != 0 || !strings.Contains(out, "evidence verified: the log's key signed a false key index") || !strings.Contains(out, want) {
			t.Fatalf("verify of the evidence: exit %d, want 0 and %q:\n%s%s", code, want, out, errOut)
		}
		var ev map[string]any
		b, _ := os.ReadFile(m[1])
		if err := json.Unmarshal(b, &ev); err != nil || ev["type"] != tlog.KeyIndexEvidenceType {
			t.Fatalf("evidence %s: %v, type %v", m[1], err, ev["type"])
		}
		for name, tamper := range map[string]func(e map[string]any){
			"the true index":  func(e map[string]any) { e["key_index"] = keys.KeyIndex },
			"another entry":   func(e map[string]any) { e["entry"].(map[string]any)["log_index"] = float64(objectEntry) + 1 },
			"a changed entry": func(e map[string]any) { e["entry"].(map[string]any)["entry"] = "AAAA" },
		} {
			var e map[string]any
			json.Unmarshal(b, &e)
			tamper(e)
			out, _ := json.Marshal(e)
			p := m[1] + ".tampered.json"
			os.WriteFile(p, out, 0o600)
			if code, _, _ := runCLI(t, "verify", "--log-key", vkey, p); code != 1 {
				t.Errorf("verify of the evidence with %s: exit %d, want 1", name, code)
			}
		}
		otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
		other, _ := note.NewEd25519VerifierKey(trueIndex.Origin, otherPub)
		if code, _, _ := runCLI(t, "verify", "--log-key", other, m[1]); code != 1 {
			t.Errorf("verify of the evidence against another log key: exit %d, want 1", code)
		}
	}

	t.Run("true indexes pass", func(t *testing.T) {
		proofDir := filepath.Join(work, "kept")
		os.Mkdir(proofDir, 0o700)
		os.Rename(saved("true.json", keys.KeyIndex), filepath.Join(proofDir, "true.json"))
		var id string
		cl.Objects(ctx, 0, trueIndex.Size, func(_ uint64, op tlog.Opening, _ []byte) error {
			if op.Member == aur.ID && id == "" {
				id = op.ObjectID
			}
			return nil
		})
		code, out, stderr := runCLI(t, "proof", "--url", base, "--token", aur.Token, "--log-key", vkey, id)
		if code != 0 {
			t.Fatalf("proof: exit %d: %s", code, stderr)
		}
		os.WriteFile(filepath.Join(work, "proof.json"), []byte(out), 0o600)
		code, out, stderr = audit("seen-true", append(byURL(base), "--bundle", filepath.Join(work, "proof.json"), "--bundle", proofDir)...)
		if code != 0 || !strings.Contains(out, "3 key index(es) checked") {
			t.Fatalf("audit --url: exit %d, want 0 with 3 key indexes checked:\n%s%s", code, out, stderr)
		}
		code, out, stderr = audit("seen-true-data", "--data", dir, "--bundle", filepath.Join(work, "proof.json"), "--bundle", proofDir)
		if code != 0 || !strings.Contains(out, "2 key index(es) checked") {
			t.Fatalf("audit --data: exit %d, want 0 with 2 key indexes checked:\n%s%s", code, out, stderr)
		}
	})
	t.Run("served index leaves out a rotation", func(t *testing.T) {
		forged := leaveOut(aur.ID)
		proxy := keyIndexProxy(t, base, "/log/keys", func(doc map[string]json.RawMessage) {
			doc["key_index"], _ = json.Marshal(forged)
		})
		code, _, stderr := audit("seen-served", byURL(proxy)...)
		if !strings.Contains(stderr, "false key index (GET /log/keys") {
			t.Errorf("the problem doesn't name GET /log/keys:\n%s", stderr)
		}
		checkEvidence(code, stderr, "leaves out entry "+strconv.FormatUint(last(aur.ID), 10)+", a rotate entry of member "+aur.ID)
	})
	t.Run("served index leaves out a member", func(t *testing.T) {
		// Signed as the index of every member: the member left out is
		// provable, by its first key entry.
		forged := forgeAs(true, func(m map[string][]uint64) { delete(m, carol.ID) })
		proxy := keyIndexProxy(t, base, "/log/keys", func(doc map[string]json.RawMessage) {
			doc["key_index"], _ = json.Marshal(forged)
		})
		code, _, stderr := audit("seen-member", byURL(proxy)...)
		if !strings.Contains(stderr, "signed as the index of every member but leaves out "+carol.ID) {
			t.Errorf("the problem doesn't name %s:\n%s", carol.ID, stderr)
		}
		checkEvidence(code, stderr, "signed a key index of every member of the tree of size "+strconv.FormatUint(trueIndex.Size, 10)+" (root "+trueIndex.Hash.String()+") that leaves out member "+carol.ID+", whose entry "+strconv.FormatUint(trueIndex.Members[carol.ID][0], 10)+" is a register entry")
	})
	t.Run("served index of the older form leaves out a member", func(t *testing.T) {
		// parley-key-index-v1 (a node older than the index of every
		// member) claims nothing of the members it doesn't list: the
		// audit names the member, warns, and writes no evidence.
		forged := forge(func(m map[string][]uint64) { delete(m, carol.ID) })
		proxy := keyIndexProxy(t, base, "/log/keys", func(doc map[string]json.RawMessage) {
			doc["key_index"], _ = json.Marshal(forged)
		})
		code, _, stderr := audit("seen-member-v1", byURL(proxy)...)
		if code != 1 || !strings.Contains(stderr, "served as every member's but doesn't list "+carol.ID) || !strings.Contains(stderr, "doesn't claim to list every member") || evidencePath.MatchString(stderr) {
			t.Fatalf("audit: exit %d, want 1 naming %s with a warning and no evidence:\n%s", code, carol.ID, stderr)
		}
	})
	t.Run("served index downgraded to the older form", func(t *testing.T) {
		// A true index of the older form passes an audit that never saw
		// the node serve the index of every member (a warning); once the
		// seen file records that it did, the older form fails the audit:
		// a member it left out couldn't be proved.
		older := forge(func(map[string][]uint64) {})
		proxy := keyIndexProxy(t, base, "/log/keys", func(doc map[string]json.RawMessage) {
			doc["key_index"], _ = json.Marshal(older)
		})
		if code, out, stderr := audit("seen-v1-first", byURL(proxy)...); code != 0 || !strings.Contains(stderr, "doesn't claim to list every member") {
			t.Fatalf("audit of the older form, never seen otherwise: exit %d, want 0 with a warning:\n%s%s", code, out, stderr)
		}
		if code, out, stderr := audit("seen-downgrade", byURL(base)...); code != 0 {
			t.Fatalf("audit of the node: exit %d:\n%s%s", code, out, stderr)
		}
		seenFile := filepath.Join(work, "seen-downgrade")
		b, _ := os.ReadFile(seenFile)
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(b, &doc); err != nil || len(doc) != 2 || doc["key"] == nil || doc["checkpoints"] == nil || !strings.Contains(string(b), tlog.KeyIndexAllHeader) {
			t.Fatalf("the seen file after the audit (want key and checkpoints, one of them the index of every member): %v\n%s", err, b)
		}
		code, out, stderr := audit("seen-downgrade", byURL(proxy)...)
		if code != 1 || !strings.Contains(stderr, "is of the older form "+tlog.KeyIndexHeader+", and this log served the index of every member") || !strings.Contains(stderr, "downgrade") {
			t.Fatalf("audit of the downgraded node: exit %d, want 1 naming the downgrade:\n%s%s", code, out, stderr)
		}
		// No key index, or no GET /log/keys at all, after the index of
		// every member: a downgrade too (it was a note, exit 0).
		none := keyIndexProxy(t, base, "/log/keys", func(doc map[string]json.RawMessage) { delete(doc, "key_index") })
		u, _ := url.Parse(base)
		rp := httputil.NewSingleHostReverseProxy(u)
		gone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/log/keys" {
				http.NotFound(w, r)
				return
			}
			rp.ServeHTTP(w, r)
		}))
		defer gone.Close()
		for _, c := range []struct{ url, says string }{
			{none, "answer carries no key index, and this log served the index of every member"},
			{gone.URL, "is not found (HTTP 404), and this log served the index of every member"},
		} {
			code, out, stderr := audit("seen-downgrade", byURL(c.url)...)
			if code != 1 || !strings.Contains(stderr, c.says) || !strings.Contains(stderr, "downgrade") {
				t.Fatalf("audit of the node that dropped its key index: exit %d, want 1 saying %q:\n%s%s", code, c.says, out, stderr)
			}
		}
		// The downgrade fails the audit, but doesn't stop it: the rest
		// of the audit is made all the same (it stopped at the
		// downgrade, so a node that dropped its key index checked
		// nothing else of the audit: a saved index's lie went unseen).
		f := saved("downgrade-revoke-member.json", leaveOut(carol.ID))
		code, out, stderr = audit("seen-downgrade", append(byURL(gone.URL), "--bundle", f)...)
		if !strings.Contains(stderr, "is not found (HTTP 404), and this log served the index of every member") || !strings.Contains(stderr, "downgraded its key index") {
			t.Fatalf("audit of the node that dropped its key index, with a bundle: exit %d, want the downgrade named:\n%s%s", code, out, stderr)
		}
		checkEvidence(code, stderr, "a revoke-member entry of member "+carol.ID)
		if code, out, stderr := audit("seen-downgrade", byURL(gone.URL)...); code != 1 || !strings.Contains(stderr, "downgraded its key index") || strings.Contains(out, "verified") {
			t.Fatalf("audit of the node that dropped its key index, the log true: exit %d, want 1 naming the downgrade and no \"verified\":\n%s%s", code, out, stderr)
		}
		// The file a version older than the record reads: still a seen
		// file whose checkpoints are the log's.
		s, err := tlog.LoadSeen(seenFile)
		if err != nil || s.KeyIndexAll(v) == nil {
			t.Fatalf("the seen file: %v", err)
		}
		if code, out, stderr := audit("seen-downgrade", byURL(base)...); code != 0 {
			t.Fatalf("audit of the node serving the index of every member again: exit %d:\n%s%s", code, out, stderr)
		}
	})
	t.Run("a node without GET /log/keys", func(t *testing.T) {
		// An older node: noted, the rest of the audit as before.
		u, _ := url.Parse(base)
		p := httputil.NewSingleHostReverseProxy(u)
		old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/log/keys" {
				http.NotFound(w, r)
				return
			}
			p.ServeHTTP(w, r)
		}))
		defer old.Close()
		code, out, stderr := audit("seen-old", byURL(old.URL)...)
		if code != 0 || !strings.Contains(stderr, "serves no GET /log/keys") || strings.Contains(out, "key index(es) checked") {
			t.Fatalf("audit of a node without GET /log/keys: exit %d, want 0 with a note:\n%s%s", code, out, stderr)
		}
	})
	t.Run("saved index leaves out a key revocation, of the store", func(t *testing.T) {
		f := saved("revoke-key.json", leaveOut(bor.ID))
		code, _, stderr := audit("seen-revoke-key", "--data", dir, "--bundle", f)
		checkEvidence(code, stderr, "a revoke-key entry of member "+bor.ID)
	})
	t.Run("saved index leaves out a member revocation", func(t *testing.T) {
		f := saved("revoke-member.json", leaveOut(carol.ID))
		code, _, stderr := audit("seen-revoke-member", append(byURL(base), "--bundle", f)...)
		checkEvidence(code, stderr, "a revoke-member entry of member "+carol.ID)
	})
	t.Run("saved index lists an object entry", func(t *testing.T) {
		f := saved("object.json", forge(func(m map[string][]uint64) {
			m[aur.ID] = append(m[aur.ID], objectEntry)
			slices.Sort(m[aur.ID])
		}))
		code, _, stderr := audit("seen-object", append(byURL(base), "--bundle", f)...)
		checkEvidence(code, stderr, "lists entry "+strconv.FormatUint(objectEntry, 10)+" as a key entry of member "+aur.ID+", which it isn't (it is an object entry)")
	})
}

// TestProofRefusesBundleWithoutKeyIndex: a node of this version always
// signs a key index into its bundles, so parley proof refuses a live
// answer without one (a node dropping it so that a rotation or
// revocation it leaves out goes unnoticed) unless --allow-no-key-index
// says the node is older; parley verify accepts a saved one with a
// warning, and refuses it with --require-key-index.
func TestProofRefusesBundleWithoutKeyIndex(t *testing.T) {
	base, st, dir := demoNode(t)
	aur := st.Members[0]
	vkey := nodeLogKey(t, dir)
	cl := &tlog.Client{URL: base, Token: aur.Token}
	cp, err := cl.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	v, _ := tlog.NewVerifier(vkey)
	c, _ := tlog.OpenCheckpoint(cp, v)
	var id string
	cl.Objects(context.Background(), 0, c.Size, func(_ uint64, op tlog.Opening, _ []byte) error {
		if id == "" {
			id = op.ObjectID
		}
		return nil
	})
	proxy := keyIndexProxy(t, base, "/log/bundle", func(doc map[string]json.RawMessage) { delete(doc, "key_index") })
	code, out, stderr := runCLI(t, "proof", "--url", proxy, "--token", aur.Token, "--log-key", vkey, id)
	if code != 1 || !strings.Contains(stderr, "no key index") || !strings.Contains(stderr, "--allow-no-key-index") {
		t.Fatalf("proof of a bundle without a key index: exit %d, want 1 naming --allow-no-key-index:\n%s", code, stderr)
	}
	if !strings.Contains(out, tlog.BundleType) {
		t.Errorf("the refused bundle isn't written to stdout as served")
	}
	code, out, stderr = runCLI(t, "proof", "--url", proxy, "--token", aur.Token, "--log-key", vkey, "--allow-no-key-index", id)
	if code != 0 || !strings.Contains(stderr, "the bundle has no key index") {
		t.Fatalf("proof --allow-no-key-index: exit %d, want 0 with the warning:\n%s", code, stderr)
	}
	f := filepath.Join(t.TempDir(), "old.json")
	os.WriteFile(f, []byte(out), 0o600)
	if code, _, stderr := runCLI(t, "verify", "--log-key", vkey, f); code != 0 || !strings.Contains(stderr, "the bundle has no key index") {
		t.Errorf("verify of a saved bundle without a key index: exit %d, want 0 with the warning:\n%s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "verify", "--log-key", vkey, "--require-key-index", f); code != 1 || !strings.Contains(stderr, "no key index") {
		t.Errorf("verify --require-key-index of a bundle without a key index: exit %d, want 1:\n%s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "proof", "--url", base, "--token", aur.Token, "--log-key", vkey, id); code != 0 {
		t.Errorf("proof from the node itself: exit %d:\n%s", code, stderr)
	}
}

// TestVerifyKeyIndexEvidenceVectors: parley verify --log-key checks the
// false key index vectors of tlog/testdata/evidence, one line each, the
// index of another tree (no entry) included; the listed vector with its
// entry dropped proves nothing, and neither does a vector against
// another log key.
func TestVerifyKeyIndexEvidenceVectors(t *testing.T) {
	for file, want := range map[string]string{
		"false-key-index-left-out-v1.json":   "that leaves out entry 3, a revoke-key entry of member",
		"false-key-index-listed-v1.json":     "that lists entry 2 as a key entry of member",
		"false-key-index-other-tree-v1.json": "two different trees of one size",
	} {
		t.Run(file, func(t *testing.T) {
			path := filepath.Join("..", "..", "tlog", "testdata", "evidence", file)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var e tlog.KeyIndexEvidence
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := runCLI(t, "verify", "--log-key", e.LogKey, path)
			if code != 0 || strings.Count(out, "\n") != 1 || !strings.Contains(out, "the log's key signed a false key index") || !strings.Contains(out, want) {
				t.Fatalf("verify: exit %d, want 0 and one line with %q:\n%s%s", code, want, out, errOut)
			}
			otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
			other, _ := note.NewEd25519VerifierKey("parley.test/log", otherPub)
			if code, _, _ := runCLI(t, "verify", "--log-key", other, path); code != 1 {
				t.Errorf("verify against another log key: exit %d, want 1", code)
			}
			if e.Entry == nil {
				return
			}
			e.Entry = nil
			dropped, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(t.TempDir(), "dropped.json")
			if err := os.WriteFile(p, dropped, 0o600); err != nil {
				t.Fatal(err)
			}
			if code, out, _ := runCLI(t, "verify", "--log-key", e.LogKey, p); code != 1 {
				t.Errorf("verify without the entry: exit %d, want 1:\n%s", code, out)
			}
		})
	}
}

// TestAuditDataChecksKeyLookup: parley audit --data builds the key
// indexes the node would sign through the look-up GET /log/keys finds
// member key entries with, and compares them with its replay. A store
// whose look-up table is damaged (a key entry's kind or member column
// changed: the node would serve an index leaving out a rotation, or file
// it under another member) fails the audit naming the entry; the intact
// store passes.
func TestAuditDataChecksKeyLookup(t *testing.T) {
	dir, _ := demoData(t)
	seen := 0
	audit := func() (int, string, string) {
		seen++
		return runCLI(t, "audit", "--data", dir, "--seen", filepath.Join(t.TempDir(), "seen"+strconv.Itoa(seen)))
	}
	if code, out, stderr := audit(); code != 0 || !strings.Contains(out, "the member key look-up checked") {
		t.Fatalf("audit --data of the intact store: exit %d:\n%s%s", code, out, stderr)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, node.StoreFile)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	type keyRow struct {
		idx    int64
		member string
	}
	var rows []keyRow
	r, err := db.Query(`SELECT idx, member FROM log_entries WHERE kind = ? ORDER BY idx`, tlog.KindMemberKey)
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var k keyRow
		if err := r.Scan(&k.idx, &k.member); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, k)
	}
	r.Close()
	if len(rows) < 2 || rows[0].member == rows[len(rows)-1].member {
		t.Fatalf("the demo has key entries %v, want two members' at least", rows)
	}
	first, last := rows[0], rows[len(rows)-1]
	for name, tc := range map[string]struct {
		damage, repair string
		args           []any
		want           string
	}{
		"a key entry's kind": {`UPDATE log_entries SET kind = 'object' WHERE idx = ?`, `UPDATE log_entries SET kind = ? WHERE idx = ?`, []any{last.idx},
			"the log's member key look-up (every member, as GET /log/keys finds them) disagrees with the entries"},
		"a key entry's member": {`UPDATE log_entries SET member = '` + first.member + `' WHERE idx = ?`, `UPDATE log_entries SET member = ? WHERE idx = ?`, []any{last.idx},
			"the log's member key look-up (member " + last.member + ", as GET /log/keys finds them) disagrees with the entries: it leaves out entry " + strconv.FormatInt(last.idx, 10)},
	} {
		exec(tc.damage, tc.args...)
		code, out, stderr := audit()
		if code != 1 || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "the node would serve a false key index") {
			t.Errorf("%s damaged: audit exit %d, want 1 with %q:\n%s%s", name, code, tc.want, out, stderr)
		}
		if name == "a key entry's kind" {
			exec(tc.repair, tlog.KindMemberKey, last.idx)
		} else {
			exec(tc.repair, last.member, last.idx)
		}
		if code, out, stderr := audit(); code != 0 {
			t.Fatalf("audit --data of the repaired store: exit %d:\n%s%s", code, out, stderr)
		}
	}
}

// TestPullHintNodeWithoutKeyIndex: parley pull from a node that sends no
// key index with GET /log/keys (a version before the key index) is
// refused, exit 4, and its hint says why (the node's version), not to
// check --url, --token and --collection, which were right.
func TestPullHintNodeWithoutKeyIndex(t *testing.T) {
	base, st, _ := demoNode(t)
	aur := st.Members[0]
	proxy := keyIndexProxy(t, base, "/log/keys", func(doc map[string]json.RawMessage) {
		delete(doc, "key_index")
	})
	code, _, stderr := runCLI(t, "pull", "--url", proxy, "--token", aur.Token, "--collection", st.Collections.Shared)
	if code != 4 || !strings.Contains(stderr, "no key index") {
		t.Fatalf("pull from a node without a key index: exit %d, want 4 naming the missing index:\n%s", code, stderr)
	}
	if strings.Contains(stderr, "hint: check --url") || !strings.Contains(stderr, "a node of a version before the key index") {
		t.Errorf("pull's hint doesn't say that the node is older than the key index:\n%s", stderr)
	}
}
